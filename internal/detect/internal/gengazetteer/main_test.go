package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	js := `// Name list from 1990 census
module.exports.first_male = [
  'James',
  'Will',
];
module.exports.last = [
  'Smith',
  'Will',
];
module.exports.first_female = [
  'Maria',
];
`
	data, err := build([]byte(js), "test", nil, "")
	if err != nil {
		t.Fatalf("build got error %v, want nil", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not gzip: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("couldn't read output: %v", err)
	}
	var body []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(l, "#") {
			body = append(body, l)
		}
	}
	got := strings.Join(body, "|")
	want := "james\tf|maria\tf|smith\tl|will\tfl"
	if got != want {
		t.Errorf("build body got %q, want %q", got, want)
	}
	if !strings.Contains(string(b), "male 2, female 1; surnames 2") {
		t.Errorf("header got %q, want the list sizes", strings.SplitN(string(b), "\n", 4)[:3])
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct{ name, js string }{
		{"missing list", "module.exports.first_male = [\n  'James',\n];\n"},
		{"bad name", "module.exports.first_male = [\n  'Ja mes',\n];\n"},
		{"unknown list", "module.exports.middle = [\n  'James',\n];\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := build([]byte(tt.js), "test", nil, ""); err == nil {
				t.Errorf("build(%q) got nil error, want one", tt.js)
			}
		})
	}
}

func TestBuildFaker(t *testing.T) {
	js := "module.exports.first_male = [\n  'James',\n];\nmodule.exports.first_female = [\n  'Maria',\n];\nmodule.exports.last = [\n  'Smith',\n];\n"
	fk := `{"pl": {"first": ["Paweł"], "last": ["Wójcik", "Smith"]}, "vi": {"first": ["Bình Minh"], "last": []}, "ru": {"first": ["Агата"], "last": []}}`
	data, err := build([]byte(js), "test", []byte(fk), "faker-test")
	if err != nil {
		t.Fatalf("build got error %v, want nil", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	var body []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(l, "#") {
			body = append(body, l)
		}
	}
	got := strings.Join(body, "|")
	want := "binh\tf|james\tf|maria\tf|minh\tf|pawel\tf|smith\tl|wojcik\tl"
	if got != want {
		t.Errorf("build body got %q, want %q", got, want)
	}
	if !strings.Contains(string(b), "MIT licence") || !strings.Contains(string(b), ": pl vi.") {
		t.Errorf("header got %q, want the faker licence and locales", string(b[:300]))
	}
}

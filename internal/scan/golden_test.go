package scan

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGolden scans each fixture tree under testdata/<case>/tree and compares
// the findings with testdata/<case>/want.<vendor>.txt, written by hand:
// one "file:line kind component" per line, in any order.
func TestGolden(t *testing.T) {
	wants, err := filepath.Glob("testdata/*/want.*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(wants) == 0 {
		t.Fatal("no golden files")
	}
	for _, wantFile := range wants {
		dir := filepath.Dir(wantFile)
		vendor := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(wantFile), "want."), ".txt")
		t.Run(filepath.Base(dir)+"/"+vendor, func(t *testing.T) {
			p, err := LoadProfile(vendor)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Scan(context.Background(), filepath.Join(dir, "tree"), p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, fmt.Sprintf("%s:%d %s %s", f.File, f.Line, f.Kind, f.Component))
			}
			want := readWant(t, wantFile)
			slices.Sort(got)
			slices.Sort(want)
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("unexpected finding: %s", g)
				}
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("missing finding: %s", w)
				}
			}
		})
	}
}

func readWant(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

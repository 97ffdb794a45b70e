package scan

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParsers covers formats and corners the fixture trees don't: older
// lockfile versions, yarn berry, renamed crates and the like. Each want
// entry is "name:line" with "!" after the name for a local dependency.
func TestParsers(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte) []dep
		in    string
		want  []string
	}{
		{"go.mod single-line require and replace", parseGoMod,
			"module x\nrequire github.com/a/b v1.0.0 // indirect\nrequire github.com/c/d v1.0.0\nreplace github.com/c/d v1.0.0 => ../d\n",
			[]string{"github.com/a/b:2", "github.com/c/d!:3"}},
		{"package-lock v1", parsePackageLock,
			"{\n \"lockfileVersion\": 1,\n \"dependencies\": {\n  \"a\": {\n   \"version\": \"1.0.0\",\n   \"dependencies\": {\n    \"b\": {\"version\": \"2.0.0\"}\n   }\n  },\n  \"c\": {\"version\": \"file:../c\"}\n }\n}\n",
			[]string{"a:4", "b:7", "c!:10"}},
		{"package-lock nested node_modules", parsePackageLock,
			"{\"packages\": {\n\"node_modules/a/node_modules/@s/b\": {}\n}}",
			[]string{"@s/b:2"}},
		{"yarn berry", parseYarnLock,
			"__metadata:\n  version: 6\n\n\"@s/a@npm:^1.0.0, @s/a@npm:^1.1.0\":\n  version: 1.1.0\n\n\"w@workspace:packages/w\":\n  version: 0.0.0\n\"alias@npm:real@^2\":\n  version: 2.0.0\n",
			[]string{"@s/a:4", "w!:7", "alias:9"}},
		{"pnpm v6 and v5 keys", parsePnpmLock,
			"lockfileVersion: '6.0'\npackages:\n\n  /@s/a@1.0.0:\n    resolution: {}\n  /b/2.0.0:\n    resolution: {}\n  /@s/c/3.0.0(react@18.0.0):\n    dev: false\n  file:../local:\n    name: local\n",
			[]string{"@s/a:4", "b:6", "@s/c:8"}},
		{"requirements options and URLs", parseRequirements,
			"--index-url https://x\n-r other.txt\nfoo @ https://example.com/foo.whl\nbar[extra]~=1.0\n./local/pkg\n-e ./editable\nbaz @ file:///tmp/baz\n  qux  # comment\n",
			[]string{"foo:3", "bar:4", "baz!:7", "qux:8"}},
		{"Pipfile", parsePipfile,
			"[[source]]\nurl = \"https://pypi.org/simple\"\n\n[packages]\nanthropic = \"*\"\nmine = {path = \"./mine\", editable = true}\n\n[dev-packages]\npytest = \"*\"\n",
			[]string{"anthropic:5", "mine!:6", "pytest:9"}},
		{"pyproject dependency-groups and inline arrays", parsePyproject,
			"[project]\nname = \"x\"\ndependencies = [\"a>=1\", 'b']\n\n[dependency-groups]\ndev = [\n  \"c\",\n  {include-group = \"lint\"},\n]\n",
			[]string{"a:3", "b:3", "c:7"}},
		{"Cargo renamed, table form and workspace", parseCargoToml,
			"[dependencies]\nx = { package = \"real\", version = \"1\" }\ny = { workspace = true }\n\n[target.'cfg(unix)'.dependencies]\nz = \"1\"\n\n[dev-dependencies.w]\nversion = \"1\"\n\n[build-dependencies.v]\npath = \"../v\"\n",
			[]string{"real:2", "y!:3", "z:6", "w:8", "v!:11"}},
		{"Gradle forms", parseGradle,
			"dependencies {\n  implementation 'g:a:1'\n  api(\"g:b\")\n  compileOnly group: 'g', name: 'c', version: '1'\n  implementation project(':d')\n  classpath \"g:e:1\"\n}\nversion = \"g:f:1\"\n",
			[]string{"g:a:2", "g:b:3", "g:c:4", "g:e:6"}},
		{"NuGet forms", parseNuGet,
			"<packages>\n  <package id=\"A\" version=\"1\" />\n</packages>\n<PackageReference Version=\"1\" Include=\"B\" />\n<PackageVersion Include=\"C\" Version=\"1\" />\n<ProjectReference Include=\"..\\D\\D.csproj\" />\n",
			[]string{"A:2", "B:4", "C:5"}},
		{"Gemfile", parseGemfile,
			"gem 'a'\ngem \"b\", path: \"../b\"\ngem('c', '~> 1')\n# gem 'd'\n",
			[]string{"a:1", "b!:2", "c:3"}},
		{"composer.lock", parseComposerLock,
			"{\n \"packages\": [\n  {\"name\": \"v/a\", \"dist\": {\"type\": \"zip\"}},\n  {\n   \"name\": \"v/b\",\n   \"dist\": {\"type\": \"path\"}\n  }\n ],\n \"packages-dev\": [{\"name\": \"v/c\"}]\n}\n",
			[]string{"v/a:3", "v/b!:5", "v/c:9"}},
		{"Cargo.lock", parseCargoLock,
			"[[package]]\nname = \"mine\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"dep\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
			[]string{"mine!:2", "dep:6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range tt.parse([]byte(tt.in)) {
				mark := ""
				if d.local {
					mark = "!"
				}
				got = append(got, fmt.Sprintf("%s%s:%d", d.name, mark, d.line))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestManifestFor(t *testing.T) {
	tests := []struct {
		path   string
		ok     bool
		source bool
	}{
		{"go.mod", true, true},
		{"a/package-lock.json", true, false},
		{"requirements.txt", true, true},
		{"requirements-dev.txt", true, true},
		{"dev-requirements.txt", true, true},
		{"requirements/base.txt", true, true},
		{"notes.txt", false, false},
		{"src/App.csproj", true, true},
		{"yarn.lock", true, false},
		{"main.py", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			mk, ok := manifestFor(tt.path)
			if ok != tt.ok || (ok && mk.source != tt.source) {
				t.Errorf("got ok=%v source=%v, want ok=%v source=%v", ok, mk.source, tt.ok, tt.source)
			}
		})
	}
}

// FuzzParsers feeds arbitrary bytes to every parser and the source scanner:
// none may panic, and every reported line must exist.
func FuzzParsers(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/tree/*")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(filepath.Base(s), b)
		}
	}
	f.Add("pnpm-lock.yaml", []byte("packages:\n  :\n  '':\n  /:\n"))
	p, err := LoadProfile("anthropic")
	if err != nil {
		f.Fatal(err)
	}
	src := newSourceScanner(p)
	names := []string{"go.mod", "package.json", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock",
		"requirements.txt", "pyproject.toml", "poetry.lock", "uv.lock", "Pipfile", "Pipfile.lock", "Cargo.toml",
		"Cargo.lock", "pom.xml", "build.gradle", "libs.versions.toml", "Gemfile", "Gemfile.lock", "App.csproj",
		"composer.json", "composer.lock"}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		for _, n := range append(names, name) {
			mk, ok := manifestFor(n)
			if !ok || mk.parse == nil {
				continue
			}
			for _, d := range mk.parse(data) {
				if d.line < 1 || d.line > lines {
					t.Errorf("%s: dep %q on line %d of %d", n, d.name, d.line, lines)
				}
			}
		}
		for _, fd := range src.scan("x.py", data, "", nil) {
			if fd.Line < 1 || fd.Line > lines {
				t.Errorf("source finding on line %d of %d", fd.Line, lines)
			}
		}
		scanTerraform(p, "x.tf", data, nil)
		scanWorkflow(p, ".github/workflows/x.yml", data, nil)
	})
}

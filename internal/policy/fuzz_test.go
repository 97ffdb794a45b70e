package policy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/brightline/brightline"
)

// FuzzLoad checks that no policy text makes Parse, Compile or Evaluate
// panic, and that whatever compiles can be evaluated at every stage.
func FuzzLoad(f *testing.F) {
	f.Add(DefaultSource())
	f.Add([]byte(diffBase))
	paths, _ := filepath.Glob("testdata/*/policy.yaml")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("rules:\n  - &a {id: r}\n  - *a\n"))
	f.Add([]byte("rules: !!map {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		Diff(file, file)
		p, err := Compile(file)
		if err != nil {
			return
		}
		in := &Input{}
		for _, stage := range []brightline.Stage{brightline.StageRequest, brightline.StageResponse, brightline.StageToolCall} {
			d, err := p.Evaluate(stage, in)
			if err != nil {
				continue
			}
			if !d.Action.Valid() {
				t.Fatalf("got action %q, want a valid one", d.Action)
			}
			if _, err := p.Redact(d, "some text 123"); err != nil {
				t.Fatal(err)
			}
		}
		if changes := Diff(file, file); len(changes) != 0 {
			t.Fatalf("got %d changes between a file and itself, want none: %v", len(changes), changes)
		}
	})
}

package toolclass

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// labelled is one line of testdata/tools.jsonl.
type labelled struct {
	Label string          `json:"label"`
	Split string          `json:"split"` // "tune": written and used while tuning; "holdout": written after, never tuned on
	Tool  json.RawMessage `json:"tool"`
}

func readLabelled(t *testing.T) []labelled {
	t.Helper()
	f, err := os.Open("testdata/tools.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var l labelled
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("tools.jsonl line %d: %v", line, err)
		}
		switch l.Label {
		case Informational, Consequential, Force:
		default:
			t.Fatalf("tools.jsonl line %d: label %q", line, l.Label)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var classes = []string{Informational, Consequential, Force}

// confusion counts labelled class (row) against predicted class (column).
type confusion map[[2]string]int

func (c confusion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-15s", "label\\got")
	for _, g := range classes {
		fmt.Fprintf(&b, "%15s", g)
	}
	for _, l := range classes {
		fmt.Fprintf(&b, "\n%-15s", l)
		for _, g := range classes {
			fmt.Fprintf(&b, "%15d", c[[2]string{l, g}])
		}
	}
	return b.String()
}

func (c confusion) precisionRecall(class string) (p, r float64) {
	var tp, fp, fn int
	for _, o := range classes {
		switch {
		case o == class:
			tp = c[[2]string{class, class}]
		default:
			fp += c[[2]string{o, class}]
			fn += c[[2]string{class, o}]
		}
	}
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	return p, r
}

// TestLabelledSet measures the classifier on testdata/tools.jsonl and
// fails below floors for force, the class the safeguard depends on.
//
// The "tune" split (276 tools) is what the rules were tuned on; it must be
// classified without a force miss. The "holdout" split (32 tools) was
// written after tuning and has not been tuned on; it measures how the
// rules generalise, and its floors were set from the earlier hold-outs
// before it was first run. History, first runs only:
//
//	items 151-200, hold-out 1: force precision 1.000 recall 0.875, accuracy 0.940; then tuned on
//	items 201-240, hold-out 2: force precision 0.909 recall 0.769, accuracy 0.900; then tuned on
//	items 241-276, hold-out 3: force precision 0.900 recall 0.750, accuracy 0.861; then tuned on
//	items 277-308, hold-out 4: force precision 1.000 recall 0.900, accuracy 0.969; not tuned on
func TestLabelledSet(t *testing.T) {
	floors := map[string]struct{ precision, recall, accuracy float64 }{
		"tune":    {precision: 0.95, recall: 1.0, accuracy: 0.95},
		"holdout": {precision: 0.9, recall: 0.75, accuracy: 0.8},
	}
	bySplit := map[string]confusion{}
	for i, l := range readLabelled(t) {
		tool, err := ParseTool(l.Tool)
		if err != nil {
			t.Fatalf("item %d: %v", i+1, err)
		}
		got := Classify(tool)
		if bySplit[l.Split] == nil {
			bySplit[l.Split] = confusion{}
		}
		bySplit[l.Split][[2]string{l.Label, got.Class}]++
		if got.Class != l.Label {
			t.Logf("%s %s: got %s, want %s (score %.2f): %s", l.Split, tool.Name, got.Class, l.Label, got.Score, got.Reason)
		}
	}
	for split, floor := range floors {
		c := bySplit[split]
		if c == nil {
			t.Errorf("no %q items in the labelled set", split)
			continue
		}
		var n, right int
		for k, v := range c {
			n += v
			if k[0] == k[1] {
				right += v
			}
		}
		p, r := c.precisionRecall(Force)
		acc := float64(right) / float64(n)
		t.Logf("%s split, %d tools: force precision %.3f recall %.3f; 3-class accuracy %.3f\n%s", split, n, p, r, acc, c)
		for _, cl := range []string{Informational, Consequential} {
			cp, cr := c.precisionRecall(cl)
			t.Logf("%s split: %s precision %.3f recall %.3f", split, cl, cp, cr)
		}
		if p < floor.precision {
			t.Errorf("%s split: force precision %.3f, want at least %.2f", split, p, floor.precision)
		}
		if r < floor.recall {
			t.Errorf("%s split: force recall %.3f, want at least %.2f", split, r, floor.recall)
		}
		if acc < floor.accuracy {
			t.Errorf("%s split: accuracy %.3f, want at least %.2f", split, acc, floor.accuracy)
		}
	}
}

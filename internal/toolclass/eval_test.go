package toolclass

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// labelled is one line of a labelled set in testdata.
type labelled struct {
	Label string          `json:"label"`
	Split string          `json:"split"` // in tools.jsonl, "tune": written and used while tuning; "holdout": written after, never tuned on
	Tool  json.RawMessage `json:"tool"`  // the definition; when absent, the line itself is
}

func readLabelled(t *testing.T, path string) []labelled {
	t.Helper()
	f, err := os.Open(path)
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
			t.Fatalf("%s line %d: %v", path, line, err)
		}
		if len(l.Tool) == 0 {
			// The definition may sit beside the label instead of under
			// "tool": {"label": ..., "name": ..., "description": ...}.
			l.Tool = json.RawMessage(bytes.Clone(sc.Bytes()))
		}
		switch l.Label {
		case Informational, Consequential, Force:
		default:
			t.Fatalf("%s line %d: label %q", path, line, l.Label)
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

// evaluate classifies every tool of items and returns the confusion
// matrix and the tools classified other than their label.
func evaluate(t *testing.T, items []labelled) (confusion, []string) {
	t.Helper()
	c := confusion{}
	var misses []string
	for i, l := range items {
		tool, err := ParseTool(l.Tool)
		if err != nil {
			t.Fatalf("item %d: %v", i+1, err)
		}
		got := Classify(tool)
		c[[2]string{l.Label, got.Class}]++
		if got.Class != l.Label {
			misses = append(misses, fmt.Sprintf("%s: got %s, want %s (score %.2f, suspect %t): %s", tool.Name, got.Class, l.Label, got.Score, got.Suspect, got.Reason))
		}
	}
	return c, misses
}

func (c confusion) accuracy() float64 {
	var n, right int
	for k, v := range c {
		n += v
		if k[0] == k[1] {
			right += v
		}
	}
	if n == 0 {
		return 0
	}
	return float64(right) / float64(n)
}

func (c confusion) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// floor is the least a split must score; force is the class the safeguard
// depends on.
type floor struct{ precision, recall, accuracy float64 }

// checkSplit logs precision and recall per class and fails below fl. It
// logs the tools classified wrongly only for a tune split: a held-out
// split is reported in aggregate, so that reading its misses cannot turn
// it into a tune split.
func checkSplit(t *testing.T, name string, c confusion, misses []string, fl floor, heldOut bool) {
	t.Helper()
	if !heldOut {
		for _, m := range misses {
			t.Logf("%s %s", name, m)
		}
	}
	p, r := c.precisionRecall(Force)
	acc := c.accuracy()
	t.Logf("%s, %d tools: force precision %.3f recall %.3f; 3-class accuracy %.3f\n%s", name, c.total(), p, r, acc, c)
	for _, cl := range []string{Informational, Consequential} {
		cp, cr := c.precisionRecall(cl)
		t.Logf("%s: %s precision %.3f recall %.3f", name, cl, cp, cr)
	}
	if p < fl.precision {
		t.Errorf("%s: force precision %.3f, want at least %.2f", name, p, fl.precision)
	}
	if r < fl.recall {
		t.Errorf("%s: force recall %.3f, want at least %.2f", name, r, fl.recall)
	}
	if acc < fl.accuracy {
		t.Errorf("%s: accuracy %.3f, want at least %.2f", name, acc, fl.accuracy)
	}
}

// splitOf returns the items of the labelled set at path whose split is
// split.
func splitOf(t *testing.T, path, split string) []labelled {
	t.Helper()
	var out []labelled
	for _, l := range readLabelled(t, path) {
		if l.Split == split {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %q items in %s", split, path)
	}
	return out
}

// TestTuneSets measures the classifier on the sets it was tuned on, and
// logs each tool it classifies wrongly. They must be classified without a
// force miss.
//
// testdata/tools.jsonl, "tune" split (276 tools): the first set.
//
// testdata/second_tune.jsonl (80 tools): written for this package from the
// vocabulary of MCP servers (filesystem, GitHub, Slack, Postgres, browser
// automation), ROS actions and MAVLink commands, command-and-control and
// counter-UAS words, and SaaS tools; no item is copied from anywhere.
//
// testdata/fourth_tune.jsonl: written with the doctrine vocabulary (fires
// and targeting effect terms, kinetic euphemisms, crowd control,
// counter-UAS effectors, payload release on autopilots) and a look-alike
// for each new word; it was written from the vocabulary, not from misses.
func TestTuneSets(t *testing.T) {
	tests := []struct {
		name  string
		items []labelled
		floor floor
	}{
		{"tools.jsonl tune split", splitOf(t, "testdata/tools.jsonl", "tune"), floor{precision: 0.95, recall: 1.0, accuracy: 0.95}},
		{"second_tune.jsonl", readLabelled(t, "testdata/second_tune.jsonl"), floor{precision: 0.9, recall: 1.0, accuracy: 0.9}},
		{"fourth_tune.jsonl", readLabelled(t, "testdata/fourth_tune.jsonl"), floor{precision: 0.9, recall: 1.0, accuracy: 0.9}},
	}
	for _, tt := range tests {
		c, misses := evaluate(t, tt.items)
		checkSplit(t, tt.name, c, misses, tt.floor, false)
	}
}

// TestHeldOut measures the classifier on sets it has not been tuned on,
// and reports them in aggregate only (see checkSplit). Their floors were
// set from a first run, not as goals; a set with no floor yet is reported
// only.
//
// testdata/tools.jsonl, "holdout" split (32 tools): written after tuning
// on the first set. History, first runs only:
//
//	items 151-200, hold-out 1: force precision 1.000 recall 0.875, accuracy 0.940; then tuned on
//	items 201-240, hold-out 2: force precision 0.909 recall 0.769, accuracy 0.900; then tuned on
//	items 241-276, hold-out 3: force precision 0.900 recall 0.750, accuracy 0.861; then tuned on
//	items 277-308, hold-out 4: force precision 1.000 recall 0.900, accuracy 0.969; not tuned on
//
// testdata/second_heldout.jsonl (100 tools: 40 force, 26 of them with a
// harm verb the first lexicon did not have, 11 with confusable or
// leetspeak names; 37 look-alikes): written with second_tune, before the
// lexicon changed, and never tuned on.
//
//	second_heldout, before the suspect band: force precision 1.000 recall 0.225, accuracy 0.620
//	second_heldout, after:                   force precision 0.870 recall 0.500, accuracy 0.700
//	second_heldout, after the doctrine vocabulary and the structural rule
//	(tuned on fourth_tune, run once for this line): force precision 0.902 recall 0.925, accuracy 0.840
//
// testdata/third_heldout.jsonl, when present, is written by someone else
// while the rules change, and is reported only. First run, 192 tools:
// force precision 0.897 recall 0.881, accuracy 0.885.
func TestHeldOut(t *testing.T) {
	t.Run("tools.jsonl holdout split", func(t *testing.T) {
		c, misses := evaluate(t, splitOf(t, "testdata/tools.jsonl", "holdout"))
		checkSplit(t, "tools.jsonl holdout split", c, misses, floor{precision: 0.9, recall: 0.75, accuracy: 0.8}, true)
	})
	t.Run("second_heldout", func(t *testing.T) {
		c, misses := evaluate(t, readLabelled(t, "testdata/second_heldout.jsonl"))
		checkSplit(t, "second_heldout.jsonl", c, misses, floor{precision: 0.85, recall: 0.9, accuracy: 0.8}, true)
	})
	t.Run("third_heldout", func(t *testing.T) {
		const path = "testdata/third_heldout.jsonl"
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s is not there yet", path)
		}
		c, misses := evaluate(t, readLabelled(t, path))
		checkSplit(t, "third_heldout.jsonl", c, misses, floor{}, true)
	})
}

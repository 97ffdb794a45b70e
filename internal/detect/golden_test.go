package detect

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// The golden test pins the exact output of Find, Analyze and Normalize on
// every input the other tests use, so that a change made for speed cannot
// change a result unnoticed. testdata/golden.txt holds one line per input:
// its name, a tab and the SHA-256 of its output as JSON. Regenerate it with
// -update only when a result is meant to change, and say so in the commit.
// The held-out split of corpus2 is deliberately not an input.

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden.txt")

const goldenPath = "testdata/golden.txt"

// goldenInput is one named text.
type goldenInput struct{ name, text string }

// goldenInputs returns every input of the package's tests, plus case
// variants and deterministic random cuts of them, which reach the edges of
// the scanners (a candidate cut short, a table without its header).
func goldenInputs(t testing.TB) []goldenInput {
	var in []goldenInput
	add := func(name, text string) { in = append(in, goldenInput{name, text}) }
	var long []string // texts that random cuts are taken from
	for _, c := range []struct {
		seed uint64
		n    int
	}{{1, 300}, {7, 200}} {
		for k, d := range corpus(c.seed, c.n) {
			add(fmt.Sprintf("corpus%d/%04d", c.seed, k), d.Text)
			long = append(long, d.Text)
		}
	}
	tune := loadCorpus2(t, "tune")
	for _, d := range tune {
		add("tune/"+d.Name, d.Text)
		add("tune-upper/"+d.Name, strings.ToUpper(d.Text))
		add("tune-lower/"+d.Name, strings.ToLower(d.Text))
		long = append(long, d.Text)
	}
	negs := readNegatives(t)
	for k, l := range negs {
		add(fmt.Sprintf("negatives/%03d", k), l)
	}
	add("negatives/all", strings.Join(negs, "\n"))
	for _, tt := range recognizerTests {
		add("recognizer/"+tt.name, tt.text)
	}
	for _, tt := range linkTests {
		add("link/"+tt.name, tt.text)
	}
	for k, s := range []string{
		// TestSameSubjectSameKey, TestLinkUnrelatedSentence and FuzzFind's seeds.
		"Reach Maria Garcia on (212) 555-0147.",
		`{"name": "Garcia, Maria", "phone": "+1 212-555-0147"}`,
		"Maria Garcia, cell (212) 555-0147.\nUnrelated: write to j.chen@corp.example.net about the parts.",
		"Call (415) 555-2671, SSN 219-54-8765, card 4111 1111 1111 1111.",
		"jane@example.com 192.168.1.1 2001:db8::1 38.8977, -77.0365",
		"MAC 00:1A:2B:3C:4D:5E IMEI 490154203237518 plate 7ABC-123",
		"lives at 221 N Main St, Apt 4B, Springfield, IL 62704-1234",
		"NSN 1005-01-123-4567 W912QR-21-C-0042 +",
		"(",
		"-1.",
		"",
	} {
		add(fmt.Sprintf("misc/%02d", k), s)
	}
	// The two benchmark texts: long inputs in which tables, sentences and
	// documents follow one another.
	add("bench/mixed", benchText(t, 1<<20))
	// A long text of one line, as a JSON body may be.
	add("bench/one-line", strings.ReplaceAll(benchText(t, 1<<18), "\n", " "))
	var sb strings.Builder
	for k := 0; sb.Len() < 1<<20; k++ {
		sb.WriteString(tune[k%len(tune)].Text)
		sb.WriteString(proseFiller)
	}
	add("bench/corpus2", sb.String())
	// Random cuts, at byte offsets (so sometimes inside a UTF-8 sequence).
	r := rand.New(rand.NewPCG(42, 42))
	all := strings.Join(long, "\n")
	for k := range 3000 {
		i := r.IntN(len(all))
		j := min(len(all), i+1+r.IntN(400))
		add(fmt.Sprintf("cut/%04d", k), all[i:j])
	}
	return in
}

// goldenDigest runs the public entry points on text and hashes their
// output: the findings of Find, the analysis of Analyze and the normalised
// value of each finding.
func goldenDigest(text string) (string, error) {
	a := Analyze(text)
	out := struct {
		Find     []Finding
		Analysis Analysis
		Norm     []string
	}{Find: Find(text), Analysis: a}
	for _, f := range a.Findings {
		out.Norm = append(out.Norm, Normalize(text, f))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func TestGolden(t *testing.T) {
	inputs := goldenInputs(t)
	got := make(map[string]string, len(inputs))
	var names []string
	for _, in := range inputs {
		if _, dup := got[in.name]; dup {
			t.Fatalf("two golden inputs named %q", in.name)
		}
		d, err := goldenDigest(in.text)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		got[in.name] = d
		names = append(names, in.name)
	}
	if *updateGolden {
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, "%s\t%s\n", n, got[n])
		}
		if err := os.WriteFile(goldenPath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatalf("couldn't open golden digests (run with -update to create them): %v", err)
	}
	defer f.Close()
	want := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n, d, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		want[n] = d
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, n := range names {
		if w, ok := want[n]; !ok {
			changed = append(changed, n+" (new input)")
		} else if got[n] != w {
			changed = append(changed, n)
		}
	}
	for n := range want {
		if _, ok := got[n]; !ok {
			changed = append(changed, n+" (input gone)")
		}
	}
	slices.Sort(changed)
	for k, n := range changed {
		if k == 40 {
			t.Errorf("... and %d more", len(changed)-k)
			break
		}
		t.Errorf("%s: output changed", n)
	}
}

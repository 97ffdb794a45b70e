package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReplayDripVersusHelpDesk is the surveillance safeguard's acceptance
// scenario, run through brightline replay with the shipped default policy:
// over twelve hours, a "drip" client brings one new US person into each of
// 1500 requests, and a help-desk client asks about the same five
// customers 1500 times. The drip client is refused from the request that
// takes it past 200 distinct US persons in 24 hours; the help-desk client
// is never refused.
func TestReplayDripVersusHelpDesk(t *testing.T) {
	firsts := []string{"Maria", "James", "Linda", "Robert", "Susan", "Michael", "Karen", "David", "Nancy", "Thomas",
		"Laura", "Daniel", "Sarah", "Paul", "Helen", "Mark", "Donna", "Steven", "Carol", "Kevin"}
	lasts := []string{"Garcia", "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Anderson",
		"Thomas", "Jackson", "Harris", "Martin", "Thompson", "Robinson", "Clark", "Lewis", "Walker", "Hall",
		"Allen", "Wright", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts"}
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	const n = 1500
	var traffic bytes.Buffer
	line := func(principal, text string, at time.Time) {
		body, _ := json.Marshal(map[string]any{
			"model":    "gpt-4o",
			"messages": []map[string]string{{"role": "user", "content": text}},
		})
		l, _ := json.Marshal(map[string]any{
			"principal": map[string]any{"id": principal},
			"body":      json.RawMessage(body),
			"time":      at,
		})
		traffic.Write(append(l, '\n'))
	}
	for i := range n {
		at := t0.Add(time.Duration(i) * 12 * time.Hour / n)
		name := firsts[i%len(firsts)] + " " + lasts[i/len(firsts)%len(lasts)]
		phone := fmt.Sprintf("(212) %03d-%04d", 400+i/10000, i%10000)
		line("key_drip", fmt.Sprintf("Add to the file: %s, cell %s, seen downtown.", name, phone), at)
		c := i % 5
		line("key_helpdesk", fmt.Sprintf("Customer %s %s, (617) 555-01%02d, asks where order %d is.", firsts[c], lasts[c], 10+c, 1000+i), at.Add(time.Second))
	}
	path := filepath.Join(t.TempDir(), "traffic.jsonl")
	if err := os.WriteFile(path, traffic.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	t.Chdir(t.TempDir()) // no config: the embedded defaults, and no data dir is touched
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if err := run(context.Background(), []string{"replay", path}, e); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}

	firstDeny := -1
	dec := json.NewDecoder(&stdout)
	for k := 0; dec.More(); k++ {
		var res struct {
			Line     int
			Decision struct {
				Action, Rule string
			}
			Error string
		}
		if err := dec.Decode(&res); err != nil {
			t.Fatal(err)
		}
		if res.Error != "" {
			t.Fatalf("line %d: %s", res.Line, res.Error)
		}
		req := k/2 + 1 // each client's request number
		denied := res.Decision.Action == "deny"
		if k%2 == 1 { // help desk
			if denied {
				t.Fatalf("help-desk request %d denied by %s; it only ever touches five people", req, res.Decision.Rule)
			}
			continue
		}
		switch {
		case denied && firstDeny < 0:
			firstDeny = req
			if res.Decision.Rule != "us-persons-24h" {
				t.Errorf("drip request %d denied by %s, want us-persons-24h", req, res.Decision.Rule)
			}
		case !denied && firstDeny > 0:
			t.Fatalf("drip request %d allowed after the safeguard tripped at %d", req, firstDeny)
		}
	}
	// 200 distinct US persons are allowed; the 201st trips the rule. The
	// counter is a HyperLogLog sketch, exact to within a person or two at
	// this size.
	if firstDeny < 199 || firstDeny > 203 {
		t.Errorf("drip client first refused at request %d, want about 201", firstDeny)
	}
	t.Logf("drip client refused from request %d of %d; help-desk client never refused in %d", firstDeny, n, n)
}

package shadow

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
)

// TestStreamCollector checks that a streamed answer, collected, compares
// as the same answer non-streamed.
func TestStreamCollector(t *testing.T) {
	fakes := []struct {
		name string
		fake func() *fakeupstream.Server
	}{
		{"text", func() *fakeupstream.Server { return &fakeupstream.Server{} }},
		{"tool", func() *fakeupstream.Server {
			return &fakeupstream.Server{Tool: &fakeupstream.ToolCall{Name: "lookup_weather", Arguments: `{"city":"Oslo","days":[1,2,3]}`}}
		}},
		{"refusal", func() *fakeupstream.Server { return &fakeupstream.Server{Refuse: true} }},
	}
	for _, kind := range []string{provider.KindAnthropic, provider.KindOpenAI} {
		for _, f := range fakes {
			t.Run(kind+"/"+f.name, func(t *testing.T) {
				p := newHTTP(t, "up", kind, f.fake())
				req := toolRequest("What is the weather in Oslo, the capital of Norway, this week?")
				req.Stream = false
				whole, err := p.Complete(context.Background(), &provider.Call{Request: req})
				if err != nil {
					t.Fatal(err)
				}
				sreq := *req
				sreq.Stream = true
				st, err := p.Stream(context.Background(), &provider.Call{Request: &sreq})
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				var c StreamCollector
				for {
					ev, err := st.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					c.Add(ev)
				}
				got := c.Response()
				want := copyResponse(whole)
				for i := range want.Content {
					if tc := want.Content[i].ToolCall; tc != nil {
						tc.ID = ""
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("collected\n%s\nwant\n%s", dump(got), dump(want))
				}
				if r := Compare(Answer{Response: whole}, Answer{Response: got}); r.Similarity == nil || *r.Similarity != 1 ||
					(r.ToolAgreement != nil && !*r.ToolAgreement) || !*r.RefusalAgreement {
					t.Errorf("comparing an answer with itself streamed: got %s, want full agreement", show(r))
				}
			})
		}
	}
}

func dump(r *llm.Response) string {
	s := string(r.StopReason)
	for _, b := range r.Content {
		s += " [" + string(b.Type) + " " + b.Text
		if b.ToolCall != nil {
			s += b.ToolCall.Name + " " + string(b.ToolCall.Arguments)
		}
		s += "]"
	}
	return s
}

func TestStreamCollectorEmptyArguments(t *testing.T) {
	var c StreamCollector
	for _, ev := range []llm.StreamEvent{
		{Type: llm.EventStart},
		{Type: llm.EventTextDelta, Index: 5, Text: "before any block: ignored"},
		{Type: llm.EventBlockStart, Index: 0, Block: &llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "x", Name: "now"}}},
		{Type: llm.EventBlockStop, Index: 0},
		{Type: llm.EventStop, StopReason: llm.StopToolUse},
		{Type: llm.EventEnd},
	} {
		c.Add(ev)
	}
	got := c.Response()
	want := &llm.Response{StopReason: llm.StopToolUse, Content: []llm.Block{{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{Name: "now", Arguments: []byte("{}")}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", dump(got), dump(want))
	}
}

// TestSampleSteps checks the three steps: a nil Sample is harmless, Keep
// copies at once, and Submit queues once.
func TestSampleSteps(t *testing.T) {
	var none *Sample
	none.Keep(toolRequest("x"), nil, nil, 0)
	none.Submit()

	cfake := &fakeupstream.Server{Record: true}
	cand := newHTTP(t, "openai-up", provider.KindOpenAI, cfake)
	st := &memStore{}
	m := newMirror(t, Config{Candidates: map[string]Candidate{"r": {Provider: cand, Model: "gpt-cand", Sample: 1}}, Store: st})
	if s := m.Sample("not-mirrored"); s != nil {
		t.Errorf("Sample of a route without a candidate: got %v, want nil", s)
	}
	s := m.Sample("r")
	if s == nil {
		t.Fatal("Sample at rate 1: got nil")
	}
	s.Submit() // nothing kept yet: no-op
	req := toolRequest("the original question")
	resp := textResponse("the original question")
	s.Keep(req, resp, nil, time.Millisecond)
	// The gateway now restores redacted text in its answer and reuses req.
	req.Messages[0].Content[0].Text = "changed afterwards"
	resp.Content[0].Text = "restored"
	s.Submit()
	s.Submit()

	got := waitResults(t, st, 1)
	if len(got) != 1 || got[0].Similarity == nil || *got[0].Similarity != 0.75 { // {echo the original question} vs {the original question}
		t.Errorf("got %d results, first %s; want one, similarity 3/4 from the kept copies", len(got), show(got[0]))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(cfake.Requests()); n != 1 {
		t.Errorf("candidate got %d requests, want 1", n)
	}
	if q := value(m.routes["r"].queued); q != 1 {
		t.Errorf("queued: got %v, want 1", q)
	}
}

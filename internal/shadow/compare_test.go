package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
)

func text(s string) llm.Block { return llm.Block{Type: llm.BlockText, Text: s} }

func call(name, args string) llm.Block {
	return llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "c", Name: name, Arguments: json.RawMessage(args)}}
}

func answer(stop llm.StopReason, blocks ...llm.Block) Answer {
	return Answer{Response: &llm.Response{StopReason: stop, Content: blocks}}
}

func TestCompare(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name                   string
		primary, candidate     Answer
		wantTool, wantRefusal  *bool
		wantInvalid            int
		wantPTools, wantCTools []string
	}{
		{
			name:        "no tools",
			primary:     answer(llm.StopEndTurn, text("a")),
			candidate:   answer(llm.StopEndTurn, text("b")),
			wantRefusal: &yes,
		},
		{
			name:        "same tool set in another order, with duplicates",
			primary:     answer(llm.StopToolUse, call("b", `{}`), call("a", `{"x":1}`)),
			candidate:   answer(llm.StopToolUse, call("a", `{"y":2}`), call("b", `{}`), call("a", ` { } `)),
			wantTool:    &yes,
			wantRefusal: &yes,
			wantPTools:  []string{"a", "b"},
			wantCTools:  []string{"a", "b"},
		},
		{
			name:        "candidate calls one tool fewer",
			primary:     answer(llm.StopToolUse, call("a", `{}`), call("b", `{}`)),
			candidate:   answer(llm.StopToolUse, call("a", `{}`)),
			wantTool:    &no,
			wantRefusal: &yes,
			wantPTools:  []string{"a", "b"},
			wantCTools:  []string{"a"},
		},
		{
			name:        "candidate's arguments are not an object",
			primary:     answer(llm.StopToolUse, call("a", `{}`)),
			candidate:   answer(llm.StopToolUse, call("a", `[1]`), call("a", `{"x":`), call("a", `null`), call("a", `{}`)),
			wantTool:    &no,
			wantRefusal: &yes,
			wantInvalid: 3,
			wantPTools:  []string{"a"},
			wantCTools:  []string{"a"},
		},
		{
			name:        "only the primary called a tool",
			primary:     answer(llm.StopToolUse, call("a", `{}`)),
			candidate:   answer(llm.StopEndTurn, text("no")),
			wantTool:    &no,
			wantRefusal: &yes,
			wantPTools:  []string{"a"},
		},
		{
			name:        "primary refused",
			primary:     answer(llm.StopRefusal, text("no")),
			candidate:   answer(llm.StopEndTurn, text("yes")),
			wantRefusal: &no,
		},
		{
			name:       "candidate failed: nothing to agree on",
			primary:    answer(llm.StopToolUse, call("a", `{}`)),
			candidate:  Answer{Err: errors.New("boom")},
			wantPTools: []string{"a"},
		},
		{
			name:      "nil response without error counts as a failure",
			primary:   Answer{},
			candidate: answer(llm.StopEndTurn, text("b")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.primary, tt.candidate)
			if !reflect.DeepEqual(got.ToolAgreement, tt.wantTool) {
				t.Errorf("ToolAgreement: got %s, want %s", fmtBool(got.ToolAgreement), fmtBool(tt.wantTool))
			}
			if !reflect.DeepEqual(got.RefusalAgreement, tt.wantRefusal) {
				t.Errorf("RefusalAgreement: got %s, want %s", fmtBool(got.RefusalAgreement), fmtBool(tt.wantRefusal))
			}
			if got.Detail.InvalidArguments != tt.wantInvalid {
				t.Errorf("InvalidArguments: got %d, want %d", got.Detail.InvalidArguments, tt.wantInvalid)
			}
			if !reflect.DeepEqual(got.Detail.PrimaryTools, tt.wantPTools) || !reflect.DeepEqual(got.Detail.CandidateTools, tt.wantCTools) {
				t.Errorf("tools: got %q and %q, want %q and %q", got.Detail.PrimaryTools, got.Detail.CandidateTools, tt.wantPTools, tt.wantCTools)
			}
			pOK := tt.primary.Err == nil && tt.primary.Response != nil
			cOK := tt.candidate.Err == nil && tt.candidate.Response != nil
			if got.PrimaryOK != pOK || got.CandidateOK != cOK {
				t.Errorf("ok: got %v/%v, want %v/%v", got.PrimaryOK, got.CandidateOK, pOK, cOK)
			}
			bothOK := pOK && cOK
			if (got.Similarity != nil) != bothOK {
				t.Errorf("Similarity: got %v, want set only when both answered (%v)", got.Similarity, bothOK)
			}
			if err := got.Validate(); err == nil {
				t.Errorf("Compare's result validated without a route; want Route and Candidate to be the caller's")
			}
		})
	}
}

func fmtBool(b *bool) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprint(*b)
}

func TestSimilarity(t *testing.T) {
	tests := []struct {
		a, b []llm.Block
		want float64
	}{
		{nil, nil, 1},
		{[]llm.Block{text("Hello, world!")}, []llm.Block{text("hello WORLD")}, 1},
		{[]llm.Block{text("a b c")}, []llm.Block{text("b c d")}, 2.0 / 4},
		{[]llm.Block{text("a a a b")}, []llm.Block{text("a")}, 1.0 / 2},
		{[]llm.Block{text("one")}, nil, 0},
		{[]llm.Block{text("x y")}, []llm.Block{call("x", `{}`), text("z")}, 0},                            // tool names are not words
		{[]llm.Block{{Type: llm.BlockThinking, Text: "q"}, text("p")}, []llm.Block{text("q p")}, 1.0 / 2}, // thinking is not
		{[]llm.Block{text("Straße 42")}, []llm.Block{text("STRASSE straße 42")}, 2.0 / 3},
		{[]llm.Block{text("split\nacross")}, []llm.Block{text("split"), text("across")}, 1},
	}
	for _, tt := range tests {
		got := Similarity(&llm.Response{Content: tt.a}, &llm.Response{Content: tt.b})
		if math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Similarity(%v, %v): got %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if back := Similarity(&llm.Response{Content: tt.b}, &llm.Response{Content: tt.a}); back != got {
			t.Errorf("Similarity is not symmetric: got %v one way and %v the other", got, back)
		}
	}
}

func TestErrorClass(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "no answer"},
		{&provider.TimeoutError{Provider: "p", Waiting: "response", After: time.Second}, "timeout"},
		{fmt.Errorf("wrapped: %w", &llm.WireError{Status: 503}), "status 503"},
		{&brightline.Error{Code: brightline.CodeTimeout, Err: context.DeadlineExceeded}, "timeout"},
		{context.Canceled, "canceled"},
		{errors.New("secret prompt text in a message"), "error"},
	}
	for _, tt := range tests {
		if got := errorClass(tt.err); got != tt.want {
			t.Errorf("errorClass(%v): got %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestCompareKeepsNoContent checks that nothing of the answers' text or
// arguments reaches the stored result.
func TestCompareKeepsNoContent(t *testing.T) {
	r := Compare(answer(llm.StopEndTurn, text("SECRET-primary")),
		answer(llm.StopToolUse, call("fire", `{"target":"SECRET-args"}`), text("SECRET-candidate")))
	r.Route, r.Candidate = "x", "y"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SECRET") {
		t.Errorf("result %s holds content", b)
	}
}

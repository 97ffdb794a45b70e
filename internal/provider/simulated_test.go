package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/brightline/brightline/internal/llm"
)

func text(s string) llm.Block { return llm.Block{Type: llm.BlockText, Text: s} }

func toolResult(id, s string) llm.Block {
	return llm.Block{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: id, Content: []llm.Block{text(s)}}}
}

func simID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "toolu_sim_" + hex.EncodeToString(sum[:])[:12]
}

func TestSimulated(t *testing.T) {
	const fire = "Engage now.\n/tool fire_weapon {\"target\": \"T-72 at grid 38SMB4488\"}"
	tests := []struct {
		name     string
		req      *llm.Request
		wantText string        // answer text, if a text answer
		wantTool *llm.ToolCall // tool call, if a tool answer
		stop     llm.StopReason
		usage    llm.Usage
	}{
		{
			name:     "echo",
			req:      &llm.Request{Model: "sim-1", System: "Be brief.", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("Hello there, model")}}}},
			wantText: "[simulated] You said: Hello there, model",
			stop:     llm.StopEndTurn,
			usage:    llm.Usage{InputTokens: 5, OutputTokens: 6},
		},
		{
			name: "echo of the last user message only",
			req: &llm.Request{Model: "sim-1", Messages: []llm.Message{
				{Role: llm.RoleUser, Content: []llm.Block{text("/tool old {}")}},
				{Role: llm.RoleAssistant, Content: []llm.Block{text("ok")}},
				{Role: llm.RoleUser, Content: []llm.Block{text("first"), text("second")}},
			}},
			wantText: "[simulated] You said: first\nsecond",
			stop:     llm.StopEndTurn,
			usage:    llm.Usage{InputTokens: 6, OutputTokens: 5},
		},
		{
			name:     "tool call with arguments",
			req:      &llm.Request{Model: "sim-1", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text(fire)}}}},
			wantTool: &llm.ToolCall{ID: simID(fire), Name: "fire_weapon", Arguments: json.RawMessage(`{"target":"T-72 at grid 38SMB4488"}`)},
			stop:     llm.StopToolUse,
			usage:    llm.Usage{InputTokens: 9, OutputTokens: 5},
		},
		{
			name:     "tool call without arguments",
			req:      &llm.Request{Model: "sim-1", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("  /tool list_units")}}}},
			wantTool: &llm.ToolCall{ID: simID("  /tool list_units"), Name: "list_units", Arguments: json.RawMessage(`{}`)},
			stop:     llm.StopToolUse,
			usage:    llm.Usage{InputTokens: 2, OutputTokens: 2},
		},
		{
			name:     "invalid arguments explain the syntax",
			req:      &llm.Request{Model: "sim-1", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("/tool fire_weapon {target: T-72}")}}}},
			wantText: simToolSyntax,
			stop:     llm.StopEndTurn,
			usage:    llm.Usage{InputTokens: 4, OutputTokens: countWords(simToolSyntax)},
		},
		{
			name:     "arguments must be an object",
			req:      &llm.Request{Model: "sim-1", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text(`/tool f ["a"]`)}}}},
			wantText: simToolSyntax,
			stop:     llm.StopEndTurn,
			usage:    llm.Usage{InputTokens: 3, OutputTokens: countWords(simToolSyntax)},
		},
		{
			name:     "a word that merely starts with /tool is no directive",
			req:      &llm.Request{Model: "sim-1", Messages: []llm.Message{{Role: llm.RoleUser, Content: []llm.Block{text("/toolbox open")}}}},
			wantText: "[simulated] You said: /toolbox open",
			stop:     llm.StopEndTurn,
			usage:    llm.Usage{InputTokens: 2, OutputTokens: 5},
		},
		{
			name: "tool results",
			req: &llm.Request{Model: "sim-2", Messages: []llm.Message{
				{Role: llm.RoleUser, Content: []llm.Block{text("/tool a {}")}},
				{Role: llm.RoleAssistant, Content: []llm.Block{
					{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_1", Name: "a", Arguments: json.RawMessage(`{}`)}},
					{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "call_2", Name: "b", Arguments: json.RawMessage(`{"x": 1}`)}},
				}},
				{Role: llm.RoleUser, Content: []llm.Block{toolResult("call_1", "sunny"), toolResult("call_2", "22 degrees"), text("/tool ignored")}},
			}},
			wantText: "[simulated] received tool result for call_1: sunny\n[simulated] received tool result for call_2: 22 degrees",
			stop:     llm.StopEndTurn,
			// 3 + (1+1 + 1+2) + (1 + 2 + 2)
			usage: llm.Usage{InputTokens: 13, OutputTokens: 15},
		},
	}
	sim := NewSimulated("simulated")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := sim.Complete(context.Background(), &Call{Request: tt.req})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != tt.req.Model {
				t.Errorf("got model %q, want %q", resp.Model, tt.req.Model)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("got stop %s, want %s", resp.StopReason, tt.stop)
			}
			if resp.Usage != tt.usage {
				t.Errorf("got usage %+v, want %+v", resp.Usage, tt.usage)
			}
			if resp.Raw != nil || resp.Dialect != "" {
				t.Errorf("got Raw %q, Dialect %q, want none", resp.Raw, resp.Dialect)
			}
			if len(resp.Content) != 1 {
				t.Fatalf("got %d blocks, want 1", len(resp.Content))
			}
			b := resp.Content[0]
			if tt.wantTool != nil {
				if b.Type != llm.BlockToolUse || !reflect.DeepEqual(b.ToolCall, tt.wantTool) {
					t.Errorf("got block %+v (%+v), want tool call %+v", b, b.ToolCall, tt.wantTool)
				}
			} else {
				if b.Type != llm.BlockText || b.Text != tt.wantText {
					t.Errorf("got block %s %q, want text %q", b.Type, b.Text, tt.wantText)
				}
				if !strings.HasPrefix(b.Text, "[simulated]") {
					t.Errorf("got %q, want it labelled [simulated]", b.Text)
				}
			}

			again, _ := NewSimulated("other").Complete(context.Background(), &Call{Request: tt.req})
			if !reflect.DeepEqual(resp, again) {
				t.Errorf("got different answers to the same request:\n%+v\n%+v", resp, again)
			}

			// The stream carries the same content.
			s, err := sim.Stream(context.Background(), &Call{Request: tt.req})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, toolDeltas, err := assemble(s)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, resp) {
				t.Errorf("got streamed answer\n%+v\nwant\n%+v", got, resp)
			}
			if tt.wantTool != nil && toolDeltas < 2 {
				t.Errorf("got %d tool deltas, want at least 2", toolDeltas)
			}
		})
	}
}

// assemble reads a canonical stream into a Response, checking the event
// order documented in llm.EventType, and counts tool deltas.
func assemble(s llm.Stream) (*llm.Response, int, error) {
	resp := &llm.Response{}
	var (
		toolDeltas int
		open       = -1
		state      = "start"
		args       strings.Builder
	)
	for {
		ev, err := s.Next()
		if err == io.EOF {
			if state != "end" {
				return nil, 0, errors.New("stream ended without EventEnd")
			}
			return resp, toolDeltas, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if ev.Raw != nil || ev.Dialect != "" || ev.Continued {
			return nil, 0, errors.New("simulated events must have no Raw or Dialect")
		}
		bad := func() (*llm.Response, int, error) {
			return nil, 0, errors.New("event " + ev.Type.String() + " out of order in state " + state)
		}
		switch ev.Type {
		case llm.EventStart:
			if state != "start" {
				return bad()
			}
			resp.ID, resp.Model, state = ev.ID, ev.Model, "blocks"
		case llm.EventBlockStart:
			if state != "blocks" || open >= 0 || ev.Index != len(resp.Content) {
				return bad()
			}
			open = ev.Index
			b := *ev.Block
			if b.ToolCall != nil {
				tc := *b.ToolCall
				b.ToolCall = &tc
			}
			resp.Content = append(resp.Content, b)
			args.Reset()
		case llm.EventTextDelta:
			if open != ev.Index {
				return bad()
			}
			resp.Content[open].Text += ev.Text
		case llm.EventToolDelta:
			if open != ev.Index || resp.Content[open].ToolCall == nil {
				return bad()
			}
			toolDeltas++
			args.WriteString(ev.PartialJSON)
			resp.Content[open].ToolCall.Arguments = json.RawMessage(args.String())
		case llm.EventBlockStop:
			if open != ev.Index {
				return bad()
			}
			open = -1
		case llm.EventStop:
			if state != "blocks" || open >= 0 {
				return bad()
			}
			resp.StopReason, state = ev.StopReason, "stopped"
			if ev.Usage != nil {
				resp.Usage = *ev.Usage
			}
		case llm.EventUsage:
			if state != "stopped" {
				return bad()
			}
			resp.Usage.Add(*ev.Usage)
		case llm.EventEnd:
			if state != "stopped" {
				return bad()
			}
			state = "end"
		}
	}
}

func TestSimulatedStreamChunks(t *testing.T) {
	sim := NewSimulated("simulated")
	req := userRequest("m", "one two three four five six seven")
	s, _ := sim.Stream(context.Background(), &Call{Request: req})
	_, evs, err := collect(s)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []string
	for _, ev := range evs {
		if ev.Type == llm.EventTextDelta {
			deltas = append(deltas, ev.Text)
		}
	}
	want := []string{"[simulated] You said: ", "one two three ", "four five six ", "seven"}
	if !reflect.DeepEqual(deltas, want) {
		t.Errorf("got deltas %q, want %q", deltas, want)
	}
}

func TestSimulatedStreamCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewSimulated("simulated").Stream(ctx, &Call{Request: userRequest("m", "hi")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := s.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v after cancel, want context.Canceled", err)
	}
	s.Close()
	if _, err := s.Next(); err == nil || err == io.EOF {
		t.Errorf("got %v after Close, want an error", err)
	}
}

func TestSplitters(t *testing.T) {
	for _, s := range []string{"", "a", "a b", "  lead and trail  ", "x\ny\tz w v u", "héllo wörld ünïcode ok"} {
		if got := strings.Join(splitWords(s, 3), ""); got != s {
			t.Errorf("splitWords(%q) joined: got %q, want the input", s, got)
		}
	}
	for _, s := range []string{"{}", `{"a":1}`, `{"target":"T-72 at grid 38SMB4488","n":[1,2,3],"ü":"ß"}`} {
		pieces := splitJSON(s)
		if len(pieces) < 2 || strings.Join(pieces, "") != s {
			t.Errorf("splitJSON(%q): got %q, want 2+ pieces joining to the input", s, pieces)
		}
		for _, p := range pieces {
			if !isValidUTF8(p) {
				t.Errorf("splitJSON(%q): piece %q cuts a character", s, p)
			}
		}
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func BenchmarkSimulated(b *testing.B) {
	sim := NewSimulated("simulated")
	req := userRequest("m", "Please summarise the logistics plan for the northern sector in three bullet points.")
	call := &Call{Request: req}
	ctx := context.Background()
	b.Run("complete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sim.Complete(ctx, call); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := sim.Stream(ctx, call)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := s.Next(); err != nil {
					break
				}
			}
			s.Close()
		}
	})
}

func FuzzSimulated(f *testing.F) {
	for _, s := range []string{"hi", "/tool x", `/tool fire_weapon {"target":"T-72"}`, "/tool", "/tool\tx\t{}", "a\n/tool y [1]", "/tool z {\"a\":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		req := userRequest("m", msg)
		resp := simulate(req)
		if len(resp.Content) != 1 {
			t.Fatalf("got %d blocks, want 1", len(resp.Content))
		}
		b := resp.Content[0]
		switch b.Type {
		case llm.BlockText:
			if !strings.HasPrefix(b.Text, "[simulated]") {
				t.Errorf("got unlabelled text %q", b.Text)
			}
		case llm.BlockToolUse:
			var obj map[string]any
			if err := json.Unmarshal(b.ToolCall.Arguments, &obj); err != nil || b.ToolCall.Name == "" {
				t.Errorf("got tool call %q with arguments %s, want a name and a JSON object", b.ToolCall.Name, b.ToolCall.Arguments)
			}
		default:
			t.Errorf("got block type %s", b.Type)
		}
		s, _ := NewSimulated("s").Stream(context.Background(), &Call{Request: req})
		got, _, err := assemble(s)
		if err != nil || !reflect.DeepEqual(got, resp) {
			t.Errorf("got streamed %+v (%v), want %+v", got, err, resp)
		}
	})
}

package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// Simulated is a deterministic provider that needs no network and no keys.
// Its behaviour is described in the package documentation. It is safe for
// concurrent use.
type Simulated struct {
	name string

	// Receipts, if set, makes the simulated provider act as a provider
	// that checks upstream receipts: each request is encoded as an
	// Anthropic Messages body (the bytes a receipt commits to, since the
	// simulated provider has no wire format of its own) and refused with a
	// 403 *llm.WireError unless Receipts accepts it. Without it, a
	// request is still receipted when its context carries a Forwarder.
	// Set it before first use.
	Receipts ReceiptChecker
}

var _ Provider = (*Simulated)(nil)

// NewSimulated returns a simulated provider with the given configured name.
func NewSimulated(name string) *Simulated {
	return &Simulated{name: name}
}

// Name returns the configured name.
func (s *Simulated) Name() string { return s.name }

// Dialect returns "": the simulated provider speaks no wire format.
func (s *Simulated) Dialect() brightline.Dialect { return "" }

// Complete answers req as described in the package documentation.
func (s *Simulated) Complete(ctx context.Context, call *Call) (*llm.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.receipted(ctx, call); err != nil {
		return nil, err
	}
	return simulate(call.Request), nil
}

// Stream answers req with the same content as Complete, as canonical events.
func (s *Simulated) Stream(ctx context.Context, call *Call) (llm.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.receipted(ctx, call); err != nil {
		return nil, err
	}
	return &simStream{ctx: ctx, events: simEvents(simulate(call.Request))}, nil
}

// receipted gets the request's receipt from ctx's Forwarder, if any, and
// checks it with s.Receipts, if set.
func (s *Simulated) receipted(ctx context.Context, call *Call) error {
	if forwarderFrom(ctx) == nil && s.Receipts == nil {
		return nil
	}
	body, err := anthropic.EncodeRequest(call.Request)
	if err != nil {
		return fmt.Errorf("couldn't encode the request for provider %s: %w", s.name, err)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://simulated/v1/messages", nil)
	if err != nil {
		return err
	}
	if err := receipt(ctx, s.name, call.Request.Model, body, r.Header); err != nil {
		return err
	}
	if s.Receipts != nil {
		if err := s.Receipts.Check(r, body); err != nil {
			return refused(err)
		}
	}
	return nil
}

// simToolSyntax is the answer to a /tool directive that cannot be parsed.
const simToolSyntax = `[simulated] couldn't read the /tool directive. Write it on its own line as /tool NAME, optionally followed by the arguments as a JSON object, e.g. /tool get_weather {"city":"Paris"}`

// simulate computes the simulated answer to req.
func simulate(req *llm.Request) *llm.Response {
	var last *llm.Message
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == llm.RoleUser {
			last = &req.Messages[i]
			break
		}
	}
	text := ""
	if last != nil {
		text = messageText(last)
	}
	sum := sha256.Sum256([]byte(text))
	resp := &llm.Response{
		ID:         "msg_sim_" + hex.EncodeToString(sum[:12]),
		Model:      req.Model,
		StopReason: llm.StopEndTurn,
	}

	var results []string
	if last != nil {
		for _, b := range last.Content {
			if b.Type == llm.BlockToolResult && b.ToolResult != nil {
				results = append(results, "[simulated] received tool result for "+b.ToolResult.CallID+": "+resultText(b.ToolResult))
			}
		}
	}
	switch {
	case len(results) > 0:
		resp.Content = []llm.Block{{Type: llm.BlockText, Text: strings.Join(results, "\n")}}
	default:
		name, args, found, ok := parseToolDirective(text)
		switch {
		case found && ok:
			resp.Content = []llm.Block{{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{
				ID:        "toolu_sim_" + hex.EncodeToString(sum[:6]),
				Name:      name,
				Arguments: args,
			}}}
			resp.StopReason = llm.StopToolUse
		case found:
			resp.Content = []llm.Block{{Type: llm.BlockText, Text: simToolSyntax}}
		default:
			resp.Content = []llm.Block{{Type: llm.BlockText, Text: "[simulated] You said: " + text}}
		}
	}

	in := countWords(req.System)
	for i := range req.Messages {
		in += blocksWords(req.Messages[i].Content)
	}
	resp.Usage = llm.Usage{InputTokens: in, OutputTokens: blocksWords(resp.Content)}
	return resp
}

// messageText joins the text blocks of m with newlines.
func messageText(m *llm.Message) string {
	var parts []string
	for _, b := range m.Content {
		if b.Type == llm.BlockText {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// resultText joins the text blocks of a tool result with spaces.
func resultText(r *llm.ToolResult) string {
	var parts []string
	for _, b := range r.Content {
		if b.Type == llm.BlockText {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, " ")
}

// parseToolDirective finds the first line of text that starts with "/tool".
// found reports whether there is one; ok whether it is well formed, in which
// case name is the tool and args its compacted JSON object arguments.
func parseToolDirective(text string) (name string, args json.RawMessage, found, ok bool) {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		rest, isDirective := strings.CutPrefix(line, "/tool")
		if !isDirective || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return "", nil, true, false
		}
		name = rest
		if i := strings.IndexAny(rest, " \t"); i >= 0 {
			name, rest = rest[:i], strings.TrimSpace(rest[i:])
		} else {
			rest = ""
		}
		if rest == "" {
			return name, json.RawMessage("{}"), true, true
		}
		var buf bytes.Buffer
		if rest[0] != '{' || json.Compact(&buf, []byte(rest)) != nil {
			return "", nil, true, false
		}
		return name, json.RawMessage(buf.Bytes()), true, true
	}
	return "", nil, false, false
}

func countWords(s string) int { return len(strings.Fields(s)) }

// blocksWords counts the words of a message's content, including tool call
// names and arguments and tool result text.
func blocksWords(blocks []llm.Block) int {
	n := 0
	for _, b := range blocks {
		switch b.Type {
		case llm.BlockText, llm.BlockThinking:
			n += countWords(b.Text)
		case llm.BlockToolUse:
			if b.ToolCall != nil {
				n += countWords(b.ToolCall.Name) + countWords(string(b.ToolCall.Arguments))
			}
		case llm.BlockToolResult:
			if b.ToolResult != nil {
				n += blocksWords(b.ToolResult.Content)
			}
		}
	}
	return n
}

// simEvents turns a simulated response into the canonical event sequence.
func simEvents(resp *llm.Response) []llm.StreamEvent {
	evs := []llm.StreamEvent{{
		Type:  llm.EventStart,
		ID:    resp.ID,
		Model: resp.Model,
		Usage: &llm.Usage{InputTokens: resp.Usage.InputTokens},
	}}
	for i, b := range resp.Content {
		switch b.Type {
		case llm.BlockToolUse:
			evs = append(evs, llm.StreamEvent{Type: llm.EventBlockStart, Index: i, Block: &llm.Block{
				Type:     llm.BlockToolUse,
				ToolCall: &llm.ToolCall{ID: b.ToolCall.ID, Name: b.ToolCall.Name},
			}})
			for _, piece := range splitJSON(string(b.ToolCall.Arguments)) {
				evs = append(evs, llm.StreamEvent{Type: llm.EventToolDelta, Index: i, PartialJSON: piece})
			}
		default:
			evs = append(evs, llm.StreamEvent{Type: llm.EventBlockStart, Index: i, Block: &llm.Block{Type: b.Type}})
			for _, chunk := range splitWords(b.Text, 3) {
				evs = append(evs, llm.StreamEvent{Type: llm.EventTextDelta, Index: i, Text: chunk})
			}
		}
		evs = append(evs, llm.StreamEvent{Type: llm.EventBlockStop, Index: i})
	}
	usage := resp.Usage
	return append(evs,
		llm.StreamEvent{Type: llm.EventStop, StopReason: resp.StopReason, Usage: &usage},
		llm.StreamEvent{Type: llm.EventEnd},
	)
}

// splitWords cuts s into chunks of n words each, every chunk keeping the
// whitespace that follows its words, so the chunks concatenate to s.
func splitWords(s string, n int) []string {
	var chunks []string
	words, start := 0, 0
	inWord := false
	for i, r := range s {
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r'
		if !space && !inWord {
			if words == n {
				chunks = append(chunks, s[start:i])
				start, words = i, 0
			}
			words++
		}
		inWord = !space
	}
	if start < len(s) || len(chunks) == 0 {
		chunks = append(chunks, s[start:])
	}
	return chunks
}

// splitJSON cuts a JSON text into at least two pieces of at most 16 bytes,
// never inside a UTF-8 sequence.
func splitJSON(s string) []string {
	const size = 16
	n := max(2, (len(s)+size-1)/size)
	var pieces []string
	for k := n; k > 1 && len(s) > 0; k-- {
		cut := max(1, len(s)/k)
		for cut < len(s) && s[cut]&0xC0 == 0x80 {
			cut++
		}
		pieces = append(pieces, s[:cut])
		s = s[cut:]
	}
	return append(pieces, s)
}

// simStream replays precomputed events.
type simStream struct {
	ctx context.Context

	mu     sync.Mutex // guards events and closed
	events []llm.StreamEvent
	closed bool
}

var errStreamClosed = errors.New("stream closed")

func (s *simStream) Next() (llm.StreamEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return llm.StreamEvent{}, errStreamClosed
	}
	if err := s.ctx.Err(); err != nil {
		return llm.StreamEvent{}, err
	}
	if len(s.events) == 0 {
		return llm.StreamEvent{}, io.EOF
	}
	ev := s.events[0]
	s.events = s.events[1:]
	return ev, nil
}

// Buffered returns the number of events left to return; Next returns
// them without waiting.
func (s *simStream) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	return len(s.events)
}

func (s *simStream) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

package safeguard

import (
	"fmt"
	"net/http"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
)

// Exchange is one model request, decided, and what its answer is decided
// with: the same policy and the request's attributes. It is used by one
// goroutine at a time.
type Exchange struct {
	// Policy decided the request and decides the rest of the exchange,
	// even if a newer one is activated meanwhile.
	Policy *policy.Policy
	// Decision is the request's decision.
	Decision brightline.Decision
	// Input is the request's input. The tool_call and response stages
	// see it too, with their own attributes filled in on a copy. Callers
	// must not change it.
	Input *policy.Input

	d     *Decider
	req   *llm.Request
	tools map[string]llm.Tool // the tools the request defines, by name
	found *inspection
}

// Request decides req, sent by principal at time at with headers hdr, at
// stage request: it builds the input, runs the detectors, records the
// request and its subjects in the counters and evaluates the rules. If
// the policy cannot be evaluated it returns the exchange (for the input,
// to record the failure) and an error; the request must then be refused.
//
// Redact and the placeholders it returns rewrite req itself, so pass the
// request that will be forwarded.
func (d *Decider) Request(p *policy.Policy, principal brightline.Principal, req *llm.Request, hdr http.Header, at time.Time) (*Exchange, error) {
	in := &policy.Input{
		Principal: principal,
		Request: policy.RequestAttrs{
			Model:     req.Model,
			Dialect:   string(req.Dialect),
			Messages:  len(req.Messages),
			TextBytes: textBytes(req),
			Metadata:  p.Metadata(hdr),
		},
		Time: at,
	}
	x := &Exchange{Policy: p, Input: in, d: d, req: req, tools: make(map[string]llm.Tool, len(req.Tools))}
	for _, t := range req.Tools {
		in.Request.Tools = append(in.Request.Tools, t.Name)
		x.tools[t.Name] = t
	}
	x.found = d.cfg.Surveillance.inspect(in, req)
	dec, err := d.evaluate(p, brightline.StageRequest, in)
	if err != nil {
		return x, fmt.Errorf("couldn't evaluate the policy at stage request: %w", err)
	}
	x.Decision = dec
	return x, nil
}

// Decides reports whether the policy has rules at stage, so that a caller
// can skip the work of preparing a decision nobody makes (buffering a
// streamed tool call, say).
func (x *Exchange) Decides(stage brightline.Stage) bool { return x.Policy.HasRules(stage) }

// Response decides the answer at stage response: its canonical stop
// reason, the bytes of text the model produced so far (notices Brightline
// put in its place excluded) and whether it is finished (false while a
// stream is still producing).
func (x *Exchange) Response(stop llm.StopReason, textBytes int, finished bool) (Outcome, error) {
	in := x.responseInput(stop, textBytes, finished)
	dec, err := x.d.evaluate(x.Policy, brightline.StageResponse, in)
	if err != nil {
		return Outcome{Input: in}, fmt.Errorf("couldn't evaluate the policy at stage response: %w", err)
	}
	return Outcome{Decision: dec, Input: in}, nil
}

// RetryRefusal reports whether a rule with allow_refusal_retry lets a
// provider's safety refusal (of textBytes bytes of text) be retried on the
// route's next target. It is not a decision and is not traced.
func (x *Exchange) RetryRefusal(textBytes int) (bool, error) {
	return x.Policy.AllowsRefusalRetry(x.responseInput(llm.StopRefusal, textBytes, true))
}

func (x *Exchange) responseInput(stop llm.StopReason, textBytes int, finished bool) *policy.Input {
	in := *x.Input
	in.Response = policy.ResponseAttrs{StopReason: string(stop), TextBytes: textBytes, Finished: finished}
	return &in
}

// Redact applies the request decision's redactions to the request given
// to Request: identifiers of the types the decision's rules name become
// typed placeholders, then the rules' patterns are replaced. It drops
// req.Raw, so that the rewritten request is what is forwarded. It returns
// the placeholders if the rules ask for the identifiers to be restored in
// the answer, else nil. A decision other than redact changes nothing.
func (x *Exchange) Redact() (*Placeholders, error) {
	if x.Decision.Action != brightline.ActionRedact {
		return nil, nil
	}
	var ph *Placeholders
	if types, restore := x.Policy.RedactIdentifiers(x.Decision); len(types) > 0 {
		p := x.found.redactIdentifiers(x.req, types)
		if restore {
			ph = p
		}
	}
	if err := redactText(x.Policy, x.Decision, x.req); err != nil {
		return nil, fmt.Errorf("couldn't redact the request: %w", err)
	}
	return ph, nil
}

// redactText applies the decision's redact patterns to every piece of
// text in req and drops req.Raw.
func redactText(p *policy.Policy, d brightline.Decision, req *llm.Request) error {
	var err error
	if req.System, err = p.Redact(d, req.System); err != nil {
		return err
	}
	var walk func(bs []llm.Block) error
	walk = func(bs []llm.Block) error {
		for i := range bs {
			b := &bs[i]
			switch b.Type {
			case llm.BlockText:
				if b.Text, err = p.Redact(d, b.Text); err != nil {
					return err
				}
			case llm.BlockToolResult:
				if err := walk(b.ToolResult.Content); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i := range req.Messages {
		if err := walk(req.Messages[i].Content); err != nil {
			return err
		}
	}
	req.Raw = nil
	return nil
}

// textBytes counts the text of the system prompt and all messages, tool
// results included.
func textBytes(req *llm.Request) int {
	n := len(req.System)
	for _, m := range req.Messages {
		n += TextBytes(m.Content)
	}
	return n
}

// TextBytes counts the bytes of text (thinking and tool results
// included) in blocks: request.text_bytes and response.text_bytes.
func TextBytes(bs []llm.Block) int {
	n := 0
	for _, b := range bs {
		switch b.Type {
		case llm.BlockText, llm.BlockThinking:
			n += len(b.Text)
		case llm.BlockToolResult:
			n += TextBytes(b.ToolResult.Content)
		}
	}
	return n
}

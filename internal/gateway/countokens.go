package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// POST /v1/messages/count_tokens
//
// A count says how much a request holds, so it is answered only for a
// request /v1/messages would let through: the caller is authenticated, the
// body is decoded with the same allow-lists and anthropic-beta check, and
// the request is decided at stage request by the one decider and recorded
// in the audit log like any decision. A request the policy denies (or
// would hold) is refused with the same error /v1/messages gives, and no
// count. (Deciding counts the request in the principal's counters, as the
// request it precedes will be.)
//
// The count is a local estimate, not the provider's tokenizer; nothing is
// sent upstream. See estimateTokens.
//
// A count is under the same budgets as the request it precedes (see
// serveAdmitted): a flood of counts from one key must not take the memory
// or the inspection budget others need. (The body read timeout applies to
// every endpoint; see ServeHTTP.)

// countTokens answers an admitted count_tokens request.
func (g *Gateway) countTokens(w http.ResponseWriter, r *http.Request, x *exchange, _ *lease, body []byte) {
	n, err := g.decideCount(w, r, x, body)
	if err != nil {
		g.fail(w, r, x, err)
		return
	}
	x.estimate = n
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-brightline-token-count", "estimate")
	w.Write(fmt.Appendf(nil, `{"input_tokens":%s}`, strconv.Itoa(n)))
}

// decideCount decodes a count_tokens body and decides it as
// /v1/messages would, recording the decision before anything is said; it
// returns the estimate for a request the policy lets through.
func (g *Gateway) decideCount(w http.ResponseWriter, r *http.Request, x *exchange, body []byte) (int, error) {
	pol := g.cfg.Policy.Current()
	if err := anthropic.CheckBetas(r.Header.Values("anthropic-beta"), pol); err != nil {
		return 0, err
	}
	req, err := anthropic.DecodeClientCountTokensRequest(body, pol)
	if err != nil {
		return 0, err
	}
	x.model = req.Model
	x.sg, err = g.decide.Request(pol, x.principal, req, r.Header, g.cfg.Now())
	if err != nil {
		return 0, policyError(brightline.StageRequest, err)
	}
	d := x.sg.Decision
	x.record(d)
	if g.cfg.Audit != nil {
		if err := g.auditRequest(x, d, x.sg.Input, body); err != nil {
			return 0, err
		}
		if err := x.pending.wait(); err != nil {
			return 0, err
		}
		x.pending.setReceipt(w.Header())
	}
	if err := decisionError(d, "Request"); err != nil {
		return 0, err
	}
	setAnnotations(w, d)
	return estimateTokens(req), nil
}

// Token estimate. Providers' tokenizers are not public, so the count is
// an estimate that errs high, as a client budgeting its context wants:
//
//   - text (system, messages, tool results, documents, cited text, tool
//     definitions, and the strings of fields the model does not hold):
//     one token per 3 bytes of UTF-8, at least one per word-ish rune run
//     — English runs near 4 bytes a token, code and other scripts nearer
//     3;
//   - each image: 1600 tokens (an image the provider scales to its
//     1.15-megapixel limit costs about that);
//   - each binary document (a PDF): its base64 size / 4 (about 3 bytes of
//     file per token), or 1600 a page-less guess when it is a URL or file;
//   - each message, block and tool: 4 tokens of framing.
func estimateTokens(req *llm.Request) int {
	n := textTokens(req.System)
	for i := range req.Messages {
		n += 4 + blockTokens(req.Messages[i].Content)
	}
	for i := range req.Tools {
		t := &req.Tools[i]
		n += 4 + textTokens(t.Name) + textTokens(t.Description) + textTokens(string(t.InputSchema)) + textTokens(string(t.Definition))
	}
	for _, s := range req.ExtraText {
		n += textTokens(s)
	}
	return n
}

const imageTokens = 1600

func blockTokens(bs []llm.Block) int {
	n := 0
	for i := range bs {
		b := &bs[i]
		n += 4 + textTokens(b.Text)
		for _, c := range b.Citations {
			n += textTokens(c.CitedText)
		}
		switch {
		case b.Image != nil:
			n += imageTokens
		case b.ToolCall != nil:
			n += textTokens(b.ToolCall.Name) + textTokens(string(b.ToolCall.Arguments))
		case b.ToolResult != nil:
			n += blockTokens(b.ToolResult.Content)
		case b.Document != nil:
			d := b.Document
			n += textTokens(d.Title) + textTokens(d.Context) + textTokens(d.Source) + blockTokens(d.Content)
			switch {
			case d.Data != "":
				n += len(d.Data) / 4
			case d.URL != "" || d.FileID != "":
				n += imageTokens
			}
		case b.Type == llm.BlockThinking:
			n += textTokens(b.Signature) / 4
		}
	}
	return n
}

// textTokens estimates the tokens of s: a third of its bytes, and never
// fewer than its runs of letters and digits.
func textTokens(s string) int {
	if s == "" {
		return 0
	}
	words, in := 0, false
	for _, r := range s {
		alnum := r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') || r >= utf8.RuneSelf
		if alnum && !in {
			words++
		}
		in = alnum
	}
	return max(words, (len(s)+2)/3)
}

package gateway

import (
	"fmt"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
)

// Provider-side execution. A request may enable tools the provider runs
// itself (MCP connectors, web search, code execution) only if the signed
// policy allows their kind; the dialect decoders refuse the rest. What
// such a tool did comes back in the answer as server tool blocks: each
// call (server_tool_use, mcp_tool_use) is decided like any tool call,
// with the provider, or the MCP server, as its upstream. The call has
// already run, so a call policy does not release cannot be held: it is
// withheld with its result, replaced by a notice that says so, and logged.
// A block of a type the gateway does not know, or of a server tool kind
// the policy does not allow, fails the answer: nothing unexamined is
// released, in passthrough neither.

// checkAnswerBlock refuses a block the answer may not carry under p.
func checkAnswerBlock(p *policy.Policy, b *llm.Block) error {
	switch b.Type {
	case llm.BlockUnknown:
		return &brightline.Error{Code: brightline.CodeUpstream,
			Message: fmt.Sprintf("the provider's answer holds a content block of type %q, which the gateway does not know, so the answer was withheld", wireType(b))}
	case llm.BlockServerToolUse, llm.BlockServerToolResult:
		if kind := b.Opaque.Kind; !p.AllowsServerTool(kind) {
			return &brightline.Error{Code: brightline.CodeUpstream,
				Message: fmt.Sprintf("the provider's answer holds a %q block of server tool kind %q, which the signed policy does not allow (allow.server_tools), so the answer was withheld", wireType(b), kind)}
		}
	}
	return nil
}

func wireType(b *llm.Block) string {
	if b.Opaque == nil {
		return string(b.Type)
	}
	return b.Opaque.WireType
}

// isServerBlock reports whether t is a block type checkAnswerBlock looks
// at.
func isServerBlock(t llm.BlockType) bool {
	return t == llm.BlockUnknown || t == llm.BlockServerToolUse || t == llm.BlockServerToolResult
}

// serverUpstream names who ran a server tool call: "mcp:" and the MCP
// server's name, or "provider:" and the provider's.
func serverUpstream(x *exchange, b *llm.Block) string {
	if b.Opaque != nil && b.Opaque.Server != "" {
		return "mcp:" + b.Opaque.Server
	}
	return "provider:" + x.served.Provider
}

// serverToolNotice replaces a server tool call policy did not release.
func serverToolNotice(d brightline.Decision, b *llm.Block) string {
	who := "the provider"
	if b.Opaque != nil && b.Opaque.Server != "" {
		who = "MCP server " + b.Opaque.Server + " at the provider"
	}
	return fmt.Sprintf("[brightline] %s %s had already run it before the gateway saw the call, so it could not be held or stopped: "+
		"the call and its result were withheld from this answer, and the decision was logged.",
		sentence(refusalMessage(d, "Tool call "+b.ToolCall.Name, "withheld")), who)
}

// decideServerBlocks checks every server tool and unknown block of a
// complete answer and decides the server tool calls (when the policy
// decides tool calls at all). A call not released becomes a notice and
// its result is dropped; resp.Raw is then cleared so that the answer is
// encoded again.
func (g *Gateway) decideServerBlocks(x *exchange, resp *llm.Response) error {
	var withheld map[string]bool
	out := resp.Content[:0:0]
	changed := false
	for i := range resp.Content {
		b := resp.Content[i]
		if !isServerBlock(b.Type) {
			out = append(out, b)
			continue
		}
		if err := checkAnswerBlock(x.sg.Policy, &b); err != nil {
			return err
		}
		switch {
		case b.Type == llm.BlockServerToolResult && withheld[b.Opaque.CallID]:
			changed = true
			continue
		case b.Type == llm.BlockServerToolUse && x.sg.Decides(brightline.StageToolCall):
			o, err := x.sg.ToolCall(b.ToolCall.Name, b.ToolCall.Arguments, serverUpstream(x, &b))
			if err != nil {
				return policyError(brightline.StageToolCall, err)
			}
			x.record(o.Decision)
			if err := g.audit(x, o.Decision, o.Input); err != nil {
				return err
			}
			if o.Decision.Action.Rank() >= brightline.ActionRequireApproval.Rank() {
				if withheld == nil {
					withheld = map[string]bool{}
				}
				withheld[b.ToolCall.ID] = true
				b = llm.Block{Type: llm.BlockText, Text: serverToolNotice(o.Decision, &b)}
				changed = true
			}
		}
		out = append(out, b)
	}
	if changed {
		resp.Content = out
		resp.Raw = nil
	}
	return nil
}

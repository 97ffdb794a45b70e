package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brightline/brightline/internal/llm"
)

// Response content blocks a server tool produces, and their kinds. A
// server_tool_use names its tool; serverToolNames gives the kind.
var serverResultKinds = map[string]string{
	"web_search_tool_result":                 llm.ServerToolWebSearch,
	"web_fetch_tool_result":                  llm.ServerToolWebFetch,
	"code_execution_tool_result":             llm.ServerToolCodeExecution,
	"bash_code_execution_tool_result":        llm.ServerToolCodeExecution,
	"text_editor_code_execution_tool_result": llm.ServerToolCodeExecution,
	"container_upload":                       llm.ServerToolCodeExecution,
	"mcp_tool_result":                        llm.ServerToolMCP,
}

var serverToolNames = map[string]string{
	"web_search":                 llm.ServerToolWebSearch,
	"web_fetch":                  llm.ServerToolWebFetch,
	"code_execution":             llm.ServerToolCodeExecution,
	"bash_code_execution":        llm.ServerToolCodeExecution,
	"text_editor_code_execution": llm.ServerToolCodeExecution,
}

// opaqueBlock converts a response block that is not plain: a server tool
// use or result, or a block of a type this package does not know (which
// becomes llm.BlockUnknown). raw is the block's JSON.
func opaqueBlock(b *wireBlock, raw []byte) (llm.Block, error) {
	op := &llm.Opaque{WireType: b.Type, Raw: json.RawMessage(raw)}
	switch b.Type {
	case "server_tool_use", "mcp_tool_use":
		if b.Type == "mcp_tool_use" {
			op.Kind, op.Server = llm.ServerToolMCP, b.ServerName
		} else {
			op.Kind = serverToolNames[b.Name]
		}
		if op.Kind == "" {
			break
		}
		if b.ID == "" || b.Name == "" {
			return llm.Block{}, fmt.Errorf("%s: id and name are required", b.Type)
		}
		args, err := objectOr(b.Input, "{}")
		if err != nil {
			return llm.Block{}, fmt.Errorf("%s: input: %w", b.Type, err)
		}
		return llm.Block{Type: llm.BlockServerToolUse, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args}, Opaque: op}, nil
	default:
		if op.Kind = serverResultKinds[b.Type]; op.Kind != "" {
			op.CallID = b.ToolUseID
			return llm.Block{Type: llm.BlockServerToolResult, Opaque: op}, nil
		}
	}
	op.Kind = ""
	return llm.Block{Type: llm.BlockUnknown, Opaque: op}, nil
}

// appendOpaque appends a server tool block as the provider sent it. An
// unknown block is never encoded.
func appendOpaque(b []byte, blk *llm.Block) ([]byte, error) {
	if blk.Opaque == nil || len(blk.Opaque.Raw) == 0 {
		return b, fmt.Errorf("%s block without its wire form", blk.Type)
	}
	if blk.Type == llm.BlockUnknown {
		return b, fmt.Errorf("content block of unknown type %q", blk.Opaque.WireType)
	}
	if !json.Valid(blk.Opaque.Raw) {
		return b, errors.New("server tool block is not valid JSON")
	}
	return append(b, blk.Opaque.Raw...), nil
}

package toolclass

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxInput bounds what ParseTools reads: tool lists are small.
const maxInput = 64 << 20

// ParseTools reads tool definitions: a JSON array, or JSON Lines (one
// definition per line; blank lines are skipped). Each definition may be in
// OpenAI Chat Completions form ({"type":"function","function":{"name",
// "description","parameters"}}), OpenAI Responses form ({"type":"function",
// "name","description","parameters"}), Anthropic form ({"name",
// "description","input_schema"}), MCP form ({"name","description",
// "inputSchema"}) or plain {"name","description","input_schema"}. Errors
// name the item (counting from 1) and, for JSON Lines, its line.
func ParseTools(r io.Reader) ([]Tool, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("couldn't read tool definitions: %w", err)
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("tool definitions are larger than %d bytes", maxInput)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, fmt.Errorf("couldn't decode tool definitions as a JSON array: %w", err)
		}
		tools := make([]Tool, 0, len(items))
		for i, raw := range items {
			t, err := ParseTool(raw)
			if err != nil {
				return nil, fmt.Errorf("tool %d: %w", i+1, err)
			}
			tools = append(tools, t)
		}
		return tools, nil
	}
	var tools []Tool
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxInput)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		t, err := ParseTool(raw)
		if err != nil {
			return nil, fmt.Errorf("tool %d (line %d): %w", len(tools)+1, line, err)
		}
		tools = append(tools, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read tool definitions: %w", err)
	}
	return tools, nil
}

// toolJSON is the union of the accepted formats.
type toolJSON struct {
	Type        string          `json:"type"`
	Function    *toolJSON       `json:"function"`
	Name        *string         `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`   // OpenAI
	InputSchema json.RawMessage `json:"input_schema"` // Anthropic, plain
	MCPSchema   json.RawMessage `json:"inputSchema"`  // MCP tools/list
}

// ParseTool decodes one tool definition in any format [ParseTools] accepts.
func ParseTool(raw []byte) (Tool, error) {
	var j toolJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Tool{}, fmt.Errorf("couldn't decode tool definition: %w", err)
	}
	if j.Function != nil {
		if j.Type != "" && j.Type != "function" {
			return Tool{}, fmt.Errorf("tool type %q with a \"function\" member; want \"function\"", j.Type)
		}
		j = *j.Function
	}
	if j.Name == nil {
		return Tool{}, errors.New("no \"name\" (want OpenAI {\"type\":\"function\",\"function\":{\"name\",...}}, Anthropic {\"name\",\"description\",\"input_schema\"} or plain {\"name\",\"description\",\"input_schema\"})")
	}
	if strings.TrimSpace(*j.Name) == "" {
		return Tool{}, errors.New("empty \"name\"")
	}
	t := Tool{Name: *j.Name, Description: j.Description}
	for _, s := range []json.RawMessage{j.InputSchema, j.Parameters, j.MCPSchema} {
		if len(s) > 0 && string(s) != "null" {
			if s[0] != '{' {
				return Tool{}, fmt.Errorf("tool %q: input schema is not a JSON object", t.Name)
			}
			t.InputSchema = s
			break
		}
	}
	return t, nil
}

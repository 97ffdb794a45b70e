package openai

import "github.com/brightline/brightline/internal/dialect/wire"

// encoding/json matches object keys case-insensitively (with Unicode
// folding: "meſſages" is "messages") and lets the last of duplicate keys
// win. OpenAI reads keys exactly. Since the gateway inspects the decoded
// request but may forward the raw body, a body like
// {"messages":[A],"Messages":[B]} would have B inspected and A executed.
// wire.CheckKeys with requestKeys closes that gap: at every position the
// decoder models, a key must be spelled exactly and appear once. Keys the
// decoder ignores (and everything inside them, such as tool parameter
// schemas) are not checked.

// requestKeys mirrors wireRequest and the types it holds.
var requestKeys = func() *wire.Keys {
	function := wire.Object(map[string]*wire.Keys{"name": nil, "arguments": nil, "description": nil, "parameters": nil})
	part := wire.Object(map[string]*wire.Keys{"type": nil, "text": nil, "refusal": nil,
		"image_url": wire.Object(map[string]*wire.Keys{"url": nil})})
	toolCall := wire.Object(map[string]*wire.Keys{"index": nil, "id": nil, "type": nil, "function": function})
	message := wire.Object(map[string]*wire.Keys{"role": nil, "content": wire.ArrayOf(part), "refusal": nil,
		"tool_calls": wire.ArrayOf(toolCall), "tool_call_id": nil})
	tool := wire.Object(map[string]*wire.Keys{"type": nil, "function": function})
	return wire.Object(map[string]*wire.Keys{
		"model": nil, "messages": wire.ArrayOf(message), "tools": wire.ArrayOf(tool),
		"tool_choice":         wire.Object(map[string]*wire.Keys{"type": nil, "function": function}),
		"parallel_tool_calls": nil, "max_tokens": nil, "max_completion_tokens": nil,
		"temperature": nil, "top_p": nil, "stop": nil, "stream": nil,
		"stream_options": wire.Object(map[string]*wire.Keys{"include_usage": nil}),
		"user":           nil, "n": nil, "functions": nil,
	})
}()

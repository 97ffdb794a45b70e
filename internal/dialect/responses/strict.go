package responses

import "github.com/brightline/brightline/internal/dialect/wire"

// requestKeys mirrors wireRequest and the types it holds, for
// wire.CheckKeys: at every position the decoder models, a key must be
// spelled exactly and appear once, so that the request the gateway
// inspects is the request the provider reads (see the openai package).
var requestKeys = func() *wire.Keys {
	part := wire.Object(map[string]*wire.Keys{"type": nil, "text": nil, "refusal": nil, "image_url": nil, "file_id": nil})
	item := wire.Object(map[string]*wire.Keys{
		"type": nil, "role": nil, "content": wire.ArrayOf(part), "call_id": nil, "name": nil,
		"arguments": nil, "output": wire.ArrayOf(part), "summary": wire.ArrayOf(part), "encrypted_content": nil,
	})
	function := wire.Object(map[string]*wire.Keys{"type": nil, "name": nil, "description": nil, "parameters": nil})
	tool := wire.Object(map[string]*wire.Keys{"type": nil, "name": nil, "description": nil, "parameters": nil,
		"tools": wire.ArrayOf(function)})
	return wire.Object(map[string]*wire.Keys{
		"model": nil, "instructions": nil, "input": wire.ArrayOf(item), "tools": wire.ArrayOf(tool),
		"tool_choice":         wire.Object(map[string]*wire.Keys{"type": nil, "name": nil, "mode": nil}),
		"parallel_tool_calls": nil, "max_output_tokens": nil, "temperature": nil, "top_p": nil,
		"stream": nil, "user": nil, "previous_response_id": nil, "conversation": nil, "background": nil,
	})
}()

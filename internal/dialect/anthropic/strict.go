package anthropic

import (
	"maps"

	"github.com/brightline/brightline/internal/dialect/wire"
)

// encoding/json matches object keys case-insensitively, with Unicode
// folding ("meſſages" is "messages", "\u212Aey" is "key"), and lets the
// last of duplicate keys win. Anthropic reads keys exactly. The gateway
// inspects the decoded request but may forward the raw body, so a body like
// {"messages":[A],"Messages":[B]} would have B inspected and A executed.
// wire.CheckKeys with requestKeys closes that gap: wherever DecodeRequest
// reads fields, a key that names one must be spelled exactly and appear
// once. Values the decoder keeps as raw bytes (tool input, input_schema) and
// fields it ignores are not checked: the gateway does not read inside them.

// requestKeys mirrors wireRequest and the types it holds;
// TestRequestKeysCoverWireTypes checks that it lists every decoded field.
var requestKeys = func() *wire.Keys {
	citations := wire.ArrayOf(wire.Object(map[string]*wire.Keys{"cited_text": nil}))
	// Blocks in a tool_result, in a document's content source and in a
	// search result are leaves. A leaf's content is read when it is a
	// search result's, so the leaf schema refers to itself; CheckKeys
	// still reads each byte once.
	leaves := &wire.Keys{}
	source := wire.Object(map[string]*wire.Keys{"type": nil, "media_type": nil, "data": nil, "url": nil, "file_id": nil, "content": leaves})
	leafFields := map[string]*wire.Keys{
		"type": nil, "text": nil, "source": source, "id": nil, "name": nil, "input": nil,
		"tool_use_id": nil, "is_error": nil, "thinking": nil, "signature": nil, "server_name": nil,
		"data": nil, "citations": citations, "title": nil, "context": nil, "tool_name": nil,
		"content": leaves,
	}
	*leaves = *wire.ArrayOf(wire.Object(leafFields))
	blockFields := maps.Clone(leafFields)
	blockFields["content"] = leaves
	block := wire.Object(blockFields)
	message := wire.Object(map[string]*wire.Keys{"role": nil, "content": wire.ArrayOf(block)})
	tool := wire.Object(map[string]*wire.Keys{"type": nil, "name": nil, "description": nil, "input_schema": nil})
	toolChoice := wire.Object(map[string]*wire.Keys{"type": nil, "name": nil, "disable_parallel_tool_use": nil})
	return wire.Object(map[string]*wire.Keys{
		"model": nil, "max_tokens": nil, "system": wire.ArrayOf(block),
		"messages": wire.ArrayOf(message), "tools": wire.ArrayOf(tool), "tool_choice": toolChoice,
		"stop_sequences": nil, "temperature": nil, "top_p": nil,
		"metadata": wire.Object(map[string]*wire.Keys{"user_id": nil}), "stream": nil,
	})
}()

package shadow

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// fullRequest sets every field that holds a pointer, slice or bytes.
func fullRequest() *llm.Request {
	temp, topP := 0.5, 0.9
	return &llm.Request{
		Model:  "claude-route",
		System: "be brief",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Content: []llm.Block{
				{Type: llm.BlockText, Text: "hi"},
				{Type: llm.BlockImage, Image: &llm.Image{MediaType: "image/png", Data: "AAAA"}},
			}},
			{Role: llm.RoleAssistant, Content: []llm.Block{
				{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: "c1", Name: "t", Arguments: json.RawMessage(`{"a":1}`)}},
			}},
			{Role: llm.RoleUser, Content: []llm.Block{
				{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: "c1", Content: []llm.Block{{Type: llm.BlockText, Text: "42"}}}},
			}},
		},
		Tools:        []llm.Tool{{Name: "t", InputSchema: json.RawMessage(`{"type":"object"}`)}},
		ToolChoice:   &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "t"},
		MaxTokens:    10,
		Temperature:  &temp,
		TopP:         &topP,
		Stop:         []string{"END"},
		Stream:       true,
		IncludeUsage: true,
		User:         "u",
		Raw:          []byte(`{"raw":true}`),
		Dialect:      brightline.DialectAnthropic,
	}
}

// scribble changes every value reachable from req through a pointer,
// slice or bytes.
func scribble(req *llm.Request) {
	req.Messages[0].Content[0].Text = "changed"
	req.Messages[0].Content[1].Image.Data = "BBBB"
	req.Messages[1].Content[0].ToolCall.Arguments[2] = 'Z'
	req.Messages[1].Content[0].ToolCall.Name = "other"
	req.Messages[2].Content[0].ToolResult.Content[0].Text = "changed"
	req.Tools[0].InputSchema[2] = 'Z'
	req.ToolChoice.Name = "other"
	*req.Temperature = 2
	*req.TopP = 0
	req.Stop[0] = "changed"
}

func TestCopyRequestIsDeep(t *testing.T) {
	orig := fullRequest()
	got := copyRequest(orig, "gpt-cand")

	want := fullRequest()
	want.Model = "gpt-cand"
	want.Stream, want.IncludeUsage = false, false
	want.Raw, want.Dialect = nil, ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("copy: got\n%+v\nwant\n%+v", got, want)
	}
	scribble(orig)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changing the original changed the copy: got\n%+v\nwant\n%+v", got, want)
	}
}

func TestCopyResponseIsDeep(t *testing.T) {
	mk := func() *llm.Response {
		return &llm.Response{ID: "id", StopReason: llm.StopToolUse, Raw: []byte("raw"), Content: []llm.Block{
			{Type: llm.BlockText, Text: "x"},
			{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{Name: "t", Arguments: json.RawMessage(`{"a":1}`)}},
		}}
	}
	orig := mk()
	got := copyResponse(orig)
	orig.Content[1].ToolCall.Arguments[2] = 'Z'
	orig.Content[1].ToolCall.Name = "other"
	orig.StopReason = llm.StopEndTurn
	want := mk()
	want.ID, want.Raw = "", nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if copyResponse(nil) != nil {
		t.Errorf("copyResponse(nil): got non-nil")
	}
}

package openai

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/brightline/brightline/internal/llm"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func text(s string) llm.Block { return llm.Block{Type: llm.BlockText, Text: s} }

func toolUse(id, name, args string) llm.Block {
	return llm.Block{Type: llm.BlockToolUse, ToolCall: &llm.ToolCall{ID: id, Name: name, Arguments: json.RawMessage(args)}}
}

func toolResult(id string, content ...llm.Block) llm.Block {
	return llm.Block{Type: llm.BlockToolResult, ToolResult: &llm.ToolResult{CallID: id, Content: content}}
}

// requestJSON renders a request without its Raw body, for comparing and
// printing. Raw JSON fields are compacted by the rendering.
func requestJSON(t testing.TB, r *llm.Request) string {
	t.Helper()
	c := *r
	c.Raw = nil
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatalf("couldn't render request: %v", err)
	}
	return string(b)
}

func responseJSON(t testing.TB, r *llm.Response) string {
	t.Helper()
	c := *r
	c.Raw = nil
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatalf("couldn't render response: %v", err)
	}
	return string(b)
}

var createdRE = regexp.MustCompile(`"created":\d+`)

// sameJSON reports whether two JSON texts hold the same value, with any
// "created" timestamps ignored.
func sameJSON(t testing.TB, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(createdRE.ReplaceAll(got, []byte(`"created":0`)), &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(createdRE.ReplaceAll(want, []byte(`"created":0`)), &w); err != nil {
		t.Fatalf("want is invalid JSON %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func indent(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

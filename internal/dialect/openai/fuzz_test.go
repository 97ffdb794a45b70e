package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

func addFixtureSeeds(f *testing.F, dir string) {
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no fixtures in %s: %v", dir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeRequest checks that DecodeRequest never panics, fails only with
// a *brightline.Error, and that what it accepts encodes, and decodes again
// to the same request.
func FuzzDecodeRequest(f *testing.F) {
	addFixtureSeeds(f, "requests")
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","tool_call_id":"a","content":"1"},{"role":"system","content":"s"},{"role":"tool","tool_call_id":"b","content":[{"type":"text","text":"2"}]},{"role":"user","content":""}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"}],"refusal":"x","tool_calls":[{"id":"c","function":{"name":"f","arguments":" {} "}}]}],"parallel_tool_calls":false}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:a;base64;base64,x,y"}}]}],"temperature":-0,"top_p":1e-300,"stop":"\u2028"}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if json.Valid(body) {
			wire.CheckKeys(body, requestKeys) // must not panic on any valid JSON
		}
		req, err := DecodeRequest(body)
		if err != nil {
			if _, ok := errors.AsType[*brightline.Error](err); !ok {
				t.Fatalf("got error %T %v, want *brightline.Error", err, err)
			}
			return
		}
		enc, err := EncodeRequest(req)
		if err != nil {
			t.Fatalf("EncodeRequest of a decoded request: %v\nbody: %q", err, body)
		}
		if !json.Valid(enc) {
			t.Fatalf("EncodeRequest gave invalid JSON %q", enc)
		}
		again, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("DecodeRequest of the encoded request: %v\nencoded: %s", err, enc)
		}
		want := *req
		want.IncludeUsage = want.Stream
		want.ExtraFields, want.ExtraText = nil, nil // they live in Raw only
		if g, w := requestJSON(t, again), requestJSON(t, &want); g != w {
			t.Fatalf("round trip changed the request:\ngot\n%s\nwant\n%s", g, w)
		}
	})
}

// FuzzStreamReader checks that the reader never panics, stops, and returns
// events that follow the canonical stream grammar.
func FuzzStreamReader(f *testing.F) {
	addFixtureSeeds(f, "streams")
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\"},{\"index\":1,\"id\":\"b\"}]},\"finish_reason\":\"stop\"}],\"usage\":{}}\r\n\r\ndata: [DONE]\n"))
	f.Add([]byte(": c\n\nevent: x\ndata: {\"choices\":[]}\ndata: \n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sr := NewStreamReader(bytes.NewReader(data))
		var g grammar
		limit := 4*len(data) + 16
		for i := 0; ; i++ {
			if i > limit {
				t.Fatalf("got more than %d events from %d bytes", limit, len(data))
			}
			ev, err := sr.Next()
			if err != nil {
				if _, again := sr.Next(); again != err {
					t.Fatalf("got %v, then %v; want the same error", err, again)
				}
				return
			}
			if (ev.Raw == nil) != ev.Continued || ev.Dialect != brightline.DialectOpenAI {
				t.Fatalf("event %d (%s): Raw %q, Continued %v, Dialect %q", i, evString(ev), ev.Raw, ev.Continued, ev.Dialect)
			}
			if err := g.next(ev); err != nil {
				t.Fatalf("event %d (%s): %v", i, evString(ev), err)
			}
		}
	})
}

// grammar checks a stream against Start (BlockStart Delta* BlockStop)* Stop
// Usage? End, allowing EventOther anywhere and a missing Stop (a [DONE]
// without a finish_reason).
type grammar struct {
	started, stopped, ended bool
	open                    *llm.Block
	next_                   int // index of the next block
}

func (g *grammar) next(ev llm.StreamEvent) error {
	if g.ended {
		return errors.New("event after the end")
	}
	if ev.Type != llm.EventOther && ev.Type != llm.EventEnd && !g.started && ev.Type != llm.EventStart {
		return errors.New("event before the start")
	}
	switch ev.Type {
	case llm.EventStart:
		if g.started {
			return errors.New("second start")
		}
		g.started = true
	case llm.EventBlockStart:
		if g.open != nil || g.stopped {
			return errors.New("block start while a block is open or after the stop")
		}
		if ev.Index != g.next_ || ev.Block == nil {
			return fmt.Errorf("block start %d, want %d", ev.Index, g.next_)
		}
		if ev.Block.Type == llm.BlockToolUse && ev.Block.ToolCall == nil {
			return errors.New("tool_use block without a call")
		}
		g.open = ev.Block
	case llm.EventTextDelta, llm.EventToolDelta:
		if g.open == nil || ev.Index != g.next_ {
			return errors.New("delta outside its block")
		}
		if (ev.Type == llm.EventToolDelta) != (g.open.Type == llm.BlockToolUse) {
			return errors.New("delta of the wrong kind")
		}
	case llm.EventBlockStop:
		if g.open == nil || ev.Index != g.next_ {
			return errors.New("stop of a block that is not open")
		}
		g.open = nil
		g.next_++
	case llm.EventStop:
		if g.open != nil || g.stopped {
			return errors.New("stop with a block open, or twice")
		}
		g.stopped = true
	case llm.EventUsage:
		if !g.stopped {
			return errors.New("usage before the stop")
		}
	case llm.EventEnd:
		if g.open != nil {
			return errors.New("end with a block open")
		}
		g.ended = true
	}
	return nil
}

package provider

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/llm"
)

// Bedrock streams answer in AWS event-stream framing: binary messages, each
// with headers (":message-type" event, exception or error; ":event-type"
// or ":exception-type") and a JSON payload, checksummed.

// eventStream reads event-stream messages.
type eventStream struct {
	br  *bufio.Reader
	dec *eventstream.Decoder
	buf []byte
}

func newEventStream(r io.Reader) *eventStream {
	return &eventStream{br: bufio.NewReaderSize(r, 16<<10), dec: eventstream.NewDecoder()}
}

// next returns the next event message's type and payload, valid until the
// next call. An exception or error message is returned as a
// *llm.WireError with Status 0. At the end of the input it returns io.EOF,
// or io.ErrUnexpectedEOF inside a message.
func (e *eventStream) next() (eventType string, payload []byte, err error) {
	if _, err := e.br.Peek(1); err != nil {
		return "", nil, err
	}
	m, err := e.dec.Decode(e.br, e.buf[:0])
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", nil, fmt.Errorf("couldn't read Bedrock event stream: %w", err)
	}
	e.buf = m.Payload
	switch headerString(m.Headers, ":message-type") {
	case "event":
		return headerString(m.Headers, ":event-type"), m.Payload, nil
	case "exception":
		var p struct {
			Message string `json:"message"`
		}
		json.Unmarshal(m.Payload, &p)
		return "", nil, &llm.WireError{Type: headerString(m.Headers, ":exception-type"), Message: p.Message}
	default: // "error"
		return "", nil, &llm.WireError{Type: headerString(m.Headers, ":error-code"), Message: headerString(m.Headers, ":error-message")}
	}
}

// buffered returns the bytes read but not yet decoded.
func (e *eventStream) buffered() int { return e.br.Buffered() }

func headerString(h eventstream.Headers, name string) string {
	if v, ok := h.Get(name).(eventstream.StringValue); ok {
		return string(v)
	}
	return ""
}

// bedrockAnthropicReader reads InvokeModelWithResponseStream: each "chunk"
// event carries {"bytes": base64 of one Anthropic stream event's JSON}. It
// turns them back into the Anthropic server-sent events they were and
// reads those with the Anthropic dialect's reader, so the events carry Raw
// frames an Anthropic client can be sent as they are.
type bedrockAnthropicReader struct {
	*anthropic.StreamReader
	sse *chunkSSE
}

func newBedrockAnthropicReader(r io.Reader) *bedrockAnthropicReader {
	c := &chunkSSE{es: newEventStream(r)}
	return &bedrockAnthropicReader{StreamReader: anthropic.NewStreamReader(c), sse: c}
}

// Buffered counts what the Anthropic reader holds, the server-sent events
// made but not yet read, and the event-stream bytes not yet decoded.
func (r *bedrockAnthropicReader) Buffered() int {
	return r.StreamReader.Buffered() + len(r.sse.pending) + r.sse.es.buffered()
}

// chunkSSE is an io.Reader of the server-sent events carried by chunk
// events. An exception in the stream is returned from Read as a
// *llm.WireError, which the Anthropic reader passes on.
type chunkSSE struct {
	es      *eventStream
	pending []byte
	err     error
}

func (c *chunkSSE) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		typ, payload, err := c.es.next()
		if err != nil {
			c.err = err
			continue
		}
		if typ != "chunk" {
			continue // an event type added after this was written
		}
		frame, err := sseFrame(payload)
		if err != nil {
			c.err = err
			continue
		}
		c.pending = frame
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// sseFrame turns a chunk's payload into the server-sent event it carries:
// "event: TYPE\ndata: JSON\n\n".
func sseFrame(payload []byte) ([]byte, error) {
	var chunk struct {
		Bytes string `json:"bytes"`
	}
	if err := json.Unmarshal(payload, &chunk); err != nil {
		return nil, fmt.Errorf("couldn't decode Bedrock chunk: %w", err)
	}
	data, err := base64.StdEncoding.DecodeString(chunk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("couldn't decode Bedrock chunk bytes: %w", err)
	}
	var ev struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &ev); err != nil || ev.Type == "" {
		return nil, fmt.Errorf("couldn't decode Bedrock chunk: not an Anthropic stream event")
	}
	if bytes.ContainsAny(data, "\r\n") {
		var c bytes.Buffer
		if err := json.Compact(&c, data); err != nil {
			return nil, fmt.Errorf("couldn't decode Bedrock chunk: %w", err)
		}
		data = c.Bytes()
	}
	out := make([]byte, 0, len(data)+len(ev.Type)+18)
	out = append(out, "event: "...)
	out = append(out, ev.Type...)
	out = append(out, "\ndata: "...)
	out = append(out, data...)
	return append(out, "\n\n"...), nil
}

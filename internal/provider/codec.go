package provider

import (
	"io"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/llm"
)

// codec is the wire format of a provider kind: the provider side of a
// dialect package (internal/dialect/...).
type codec struct {
	dialect         brightline.Dialect
	encodeRequest   func(*llm.Request) ([]byte, error)
	decodeResponse  func([]byte) (*llm.Response, error)
	newStreamReader func(io.Reader) eventReader
	decodeError     func(status int, body []byte) *llm.WireError
}

// eventReader reads canonical events from a provider's SSE stream. Its
// Buffered returns the number of bytes read from the stream but not yet
// returned as events.
type eventReader interface {
	Next() (llm.StreamEvent, error)
	llm.Bufferer
}

var anthropicCodec = codec{
	dialect:         brightline.DialectAnthropic,
	encodeRequest:   anthropic.EncodeRequest,
	decodeResponse:  anthropic.DecodeResponse,
	newStreamReader: func(r io.Reader) eventReader { return anthropic.NewStreamReader(r) },
	decodeError:     anthropic.DecodeError,
}

var openaiCodec = codec{
	dialect:         brightline.DialectOpenAI,
	encodeRequest:   openai.EncodeRequest,
	decodeResponse:  openai.DecodeResponse,
	newStreamReader: func(r io.Reader) eventReader { return openai.NewStreamReader(r) },
	decodeError:     openai.DecodeError,
}

package provider

import (
	"io"
	"strings"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/responses"
	"github.com/brightline/brightline/internal/llm"
)

// # The Responses API
//
// A provider of kind openai speaks two dialects: Chat Completions at
// /chat/completions, and the Responses API at /responses. A request that
// came in the Responses dialect goes to /responses: the client's own bytes
// with the model replaced (passthrough), or, once the gateway has changed
// it (a redaction), re-encoded by the responses package. Every other
// request goes to /chat/completions. Answers are read with the codec of
// the endpoint they came from, so the gateway decides a Responses answer
// like any other. openai-compatible servers are sent Chat Completions
// only: not all of them serve /responses.

var responsesCodec = codec{
	dialect:         brightline.DialectResponses,
	encodeRequest:   responses.EncodeRequest,
	decodeResponse:  responses.DecodeResponse,
	newStreamReader: func(r io.Reader) eventReader { return responses.NewStreamReader(r) },
	decodeError:     responses.DecodeError,
}

// responsesEndpoint returns the Responses endpoint under an OpenAI base
// URL.
func responsesEndpoint(base string) string {
	return strings.TrimRight(base, "/") + "/responses"
}

// wireFor returns the codec and endpoint req is sent with.
func (h *HTTP) wireFor(req *llm.Request) (codec, string) {
	if req.Dialect == brightline.DialectResponses && h.responses != "" {
		return responsesCodec, h.responses
	}
	return h.codec, h.endpoint
}

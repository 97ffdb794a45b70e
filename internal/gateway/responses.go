package gateway

import (
	"io"
	"net/http"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/dialect/responses"
	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/policy"
)

// responsesCodec serves POST /v1/responses, the OpenAI Responses API. It
// goes through the same pipeline as the other dialects: the request's
// text (instructions and input items) is decided, every function_call in
// the answer is decided and a held one is replaced by a message item with
// the notice, streams included. The gateway keeps no conversation state:
// previous_response_id and the like are refused (see package responses).
var responsesCodec = &codec{
	dialect: brightline.DialectResponses,
	decodeRequest: func(body []byte, _ http.Header, p *policy.Policy) (*llm.Request, error) {
		return responses.DecodeClientRequest(body, p)
	},
	encodeResponse: responses.EncodeResponse,
	encodeModels:   openai.EncodeModels,
	errorBody:      responses.ErrorBody,
	streamWriter:   func(w io.Writer, r *llm.Request) streamWriter { return responses.NewStreamWriter(w, r) },
}

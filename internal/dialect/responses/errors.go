package responses

import (
	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/dialect/openai"
	"github.com/brightline/brightline/internal/dialect/wire"
	"github.com/brightline/brightline/internal/llm"
)

// The Responses API reports errors with the same error object as Chat
// Completions, {"error":{"message","type","param","code"}}, so
// [ErrorBody] and [DecodeError] are the openai package's. In a stream, an
// error is an "error" event whose data holds the code and message at the
// top level ([StreamWriter.WriteError]).

// ErrorBody returns the body of a non-stream error response for e. The
// HTTP status is the gateway's to choose.
func ErrorBody(e *brightline.Error) []byte { return openai.ErrorBody(e) }

// DecodeError parses the body of a provider's error response. If the body
// is not an OpenAI error object, Type is empty and Message is the start of
// the body.
func DecodeError(status int, body []byte) *llm.WireError { return openai.DecodeError(status, body) }

// errorCode returns the code of an error event for a gateway error code.
func errorCode(c brightline.ErrorCode) string {
	switch c {
	case brightline.CodeInternal, "":
		return "server_error"
	case brightline.CodeRateLimited:
		return "rate_limit_exceeded"
	case brightline.CodeUpstream:
		return "upstream_error"
	case brightline.CodeOverloaded:
		return "overloaded"
	case brightline.CodeTimeout:
		return "upstream_timeout"
	case brightline.CodeUnavailable:
		return "unavailable"
	}
	return string(c)
}

// appendErrorEvent appends the data of an error event for e, numbered seq.
func appendErrorEvent(b []byte, e *brightline.Error, seq int) []byte {
	msg, code := "internal error", brightline.CodeInternal
	if e != nil {
		msg, code = e.Message, e.Code
	}
	b = append(b, `{"type":"error","code":`...)
	b = wire.AppendString(b, errorCode(code))
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, msg)
	b = append(b, `,"param":null,"sequence_number":`...)
	b = appendInt(b, seq)
	return append(b, '}')
}

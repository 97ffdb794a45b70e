package fakeupstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Bedrock is a fake Amazon Bedrock runtime. It serves
//
//	POST /model/{modelId}/invoke                       (InvokeModel)
//	POST /model/{modelId}/invoke-with-response-stream  (InvokeModelWithResponseStream)
//	POST /model/{modelId}/converse                     (Converse)
//	POST /model/{modelId}/converse-stream              (ConverseStream)
//
// and checks what Bedrock checks: every request must carry a valid AWS
// Signature Version 4 for the service "bedrock" in Region, made with
// AccessKeyID and SecretAccessKey, within five minutes of the fake's
// clock. The fake recomputes the signature from the request it received
// (method, escaped path, query, the signed headers and the SHA-256 of the
// body it read) and refuses a mismatch with 403 InvalidSignatureException,
// an unknown key with 403 UnrecognizedClientException and a missing one
// with 403 MissingAuthenticationTokenException, in Bedrock's error shape
// ({"message": …} and the x-amzn-ErrorType header).
//
// InvokeModel takes only Anthropic models (anthropic.… or {geo}.anthropic.…)
// and their Messages body, which must hold "anthropic_version":
// "bedrock-2023-05-31" and no "model" or "stream" (Bedrock refuses them as
// extraneous keys). Its streams are event-stream "chunk" events carrying
// base64 Anthropic stream events. Converse takes any model, and like
// Bedrock wants a toolConfig whenever the conversation holds tool use.
//
// Answers come from the embedded Server's logic (echo, Tool, Refuse) and
// its Fail hook: a Failure's Status answers with Bedrock's error for it
// (429 ThrottlingException, ...), ErrorEvent ends a stream with an
// exception event after BreakAfter events.
type Bedrock struct {
	Server
	Region          string // default us-east-1
	AccessKeyID     string // default AKIDFAKEBEDROCK
	SecretAccessKey string // default fake-secret
	// Now is the fake's clock for the signature's time window; nil means
	// time.Now.
	Now func() time.Time
}

func (b *Bedrock) region() string { return cmpOr(b.Region, "us-east-1") }
func (b *Bedrock) keyID() string  { return cmpOr(b.AccessKeyID, "AKIDFAKEBEDROCK") }
func (b *Bedrock) secret() string { return cmpOr(b.SecretAccessKey, "fake-secret") }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// bedrockError answers with Bedrock's error shape.
func bedrockError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.Header().Set("x-amzn-RequestId", "00000000-fake-4000-8000-000000000000")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%s}`, q(msg))
}

var bedrockFailures = map[int][2]string{
	400: {"ValidationException", "The provided request is not valid"},
	403: {"AccessDeniedException", "You don't have access to the model with the specified model ID."},
	404: {"ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."},
	408: {"ModelTimeoutException", "Model has timed out in processing the request."},
	424: {"ModelErrorException", "The model returned an error."},
	429: {"ThrottlingException", "Too many requests, please wait before trying again."},
	500: {"InternalServerException", "The server encountered an internal error."},
	503: {"ServiceUnavailableException", "The service is unavailable. Please try again later."},
}

// ServeHTTP implements http.Handler.
func (b *Bedrock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/model/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || r.Method != http.MethodPost || i < 0 {
		bedrockError(w, 404, "UnknownOperationException", "")
		return
	}
	model, op := rest[:i], rest[i+1:]
	switch op {
	case "invoke", "invoke-with-response-stream", "converse", "converse-stream":
	default:
		bedrockError(w, 404, "UnknownOperationException", "")
		return
	}
	n := int(b.n.Add(1))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if b.Record {
		b.mu.Lock()
		b.requests = append(b.requests, Request{Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body})
		b.mu.Unlock()
	}
	if status, typ, msg := b.verify(r, body); status != 0 {
		bedrockError(w, status, typ, msg)
		return
	}
	if msg := b.checkReceipt(r, body); msg != "" {
		bedrockError(w, http.StatusForbidden, "AccessDeniedException", msg)
		return
	}
	var f Failure
	if b.Fail != nil {
		if ff := b.Fail(n); ff != nil {
			f = *ff
		}
	}
	if d := f.Delay + b.Latency; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			b.cancelled.Add(1)
			return
		}
	}
	if f.Status != 0 {
		e, ok := bedrockFailures[f.Status]
		if !ok {
			e = bedrockFailures[500]
		}
		if f.ErrorType != "" {
			e[0] = f.ErrorType
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		bedrockError(w, f.Status, e[0], e[1])
		return
	}
	stream := strings.HasSuffix(op, "-stream")
	var events []esEvent
	switch op {
	case "invoke", "invoke-with-response-stream":
		req, status, msg := b.invokeRequest(model, body)
		if status != 0 {
			bedrockError(w, status, "ValidationException", msg)
			return
		}
		a := b.answer(req, true)
		if !stream {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", fmt.Sprint(a.inTokens))
			w.Header().Set("X-Amzn-Bedrock-Output-Token-Count", fmt.Sprint(a.outTokens))
			w.Write(a.anthropicJSON())
			return
		}
		events = a.bedrockChunks()
	default:
		req, msg := converseRequest(model, body)
		if msg != "" {
			bedrockError(w, 400, "ValidationException", msg)
			return
		}
		a := b.answer(req, false)
		a.id = ""
		if !stream {
			w.Header().Set("Content-Type", "application/json")
			w.Write(a.converseJSON())
			return
		}
		events = a.converseEvents()
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("x-amzn-RequestId", "00000000-fake-4000-8000-000000000001")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := eventstream.NewEncoder()
	for i, ev := range events {
		if (f.BreakAfter > 0 || f.ErrorEvent) && i == f.BreakAfter {
			if f.ErrorEvent {
				var h eventstream.Headers
				h.Set(":message-type", eventstream.StringValue("exception"))
				h.Set(":exception-type", eventstream.StringValue("internalServerException"))
				h.Set(":content-type", eventstream.StringValue("application/json"))
				enc.Encode(w, eventstream.Message{Headers: h, Payload: []byte(`{"message":"The server encountered an internal error."}`)})
				rc.Flush()
				return
			}
			rc.Flush()
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			} else {
				panic(http.ErrAbortHandler)
			}
			return
		}
		if b.EventDelay > 0 && i > 0 {
			select {
			case <-time.After(b.EventDelay):
			case <-r.Context().Done():
				b.cancelled.Add(1)
				return
			}
		}
		var h eventstream.Headers
		h.Set(":event-type", eventstream.StringValue(ev.typ))
		h.Set(":content-type", eventstream.StringValue("application/json"))
		h.Set(":message-type", eventstream.StringValue("event"))
		if err := enc.Encode(w, eventstream.Message{Headers: h, Payload: ev.payload}); err != nil {
			b.cancelled.Add(1)
			return
		}
		if err := rc.Flush(); err != nil {
			b.cancelled.Add(1)
			return
		}
	}
}

// verify checks the request's SigV4 signature. It returns status 0 when it
// is good, else Bedrock's status, error type and message.
func (b *Bedrock) verify(r *http.Request, body []byte) (int, string, string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return 403, "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	const alg = "AWS4-HMAC-SHA256 "
	fields := map[string]string{}
	if rest, ok := strings.CutPrefix(auth, alg); ok {
		for _, p := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			fields[k] = v
		}
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return 403, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."
	}
	if scope[0] != b.keyID() {
		return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if scope[2] != b.region() || scope[3] != "bedrock" || scope[4] != "aws4_request" {
		return 403, "InvalidSignatureException", "Credential should be scoped to a valid region and service 'bedrock'."
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || scope[1] != at.Format("20060102") {
		return 403, "IncompleteSignatureException", "Date must be in ISO-8601 'basic format'."
	}
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	if d := now.Sub(at); d > 5*time.Minute || d < -5*time.Minute {
		return 403, "InvalidSignatureException", "Signature expired: " + at.Format("20060102T150405Z") + " is now earlier than " + now.Add(-5*time.Minute).UTC().Format("20060102T150405Z")
	}
	// Rebuild the request as the client signed it: same method, path,
	// query, host and signed headers, and sign it again.
	u := &url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	re, _ := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	re.Host = r.Host
	re.ContentLength = r.ContentLength
	re.Header = http.Header{}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		if vs := r.Header.Values(h); len(vs) > 0 {
			re.Header[http.CanonicalHeaderKey(h)] = vs
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: b.keyID(), SecretAccessKey: b.secret(), SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, re, hex.EncodeToString(sum[:]), "bedrock", b.region(), at); err != nil {
		return 500, "InternalServerException", err.Error()
	}
	want := ""
	for _, p := range strings.Split(strings.TrimPrefix(re.Header.Get("Authorization"), alg), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "Signature="); ok {
			want = v
		}
	}
	if want == "" || want != fields["Signature"] {
		return 403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return 0, "", ""
}

// invokeRequest reads an InvokeModel body for an Anthropic model. status
// is non-zero when Bedrock would refuse it.
func (b *Bedrock) invokeRequest(model string, body []byte) (*wireRequest, int, string) {
	m := model
	if _, rest, ok := strings.Cut(m, "."); ok && !strings.HasPrefix(m, "anthropic.") {
		m = rest
	}
	if !strings.HasPrefix(m, "anthropic.") {
		return nil, 400, "The provided model identifier is invalid."
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, 400, "Malformed input request, please reformat your input and try again."
	}
	for _, k := range []string{"model", "stream"} {
		if _, ok := top[k]; ok {
			return nil, 400, "Malformed input request: #: extraneous key [" + k + "] is not permitted, please reformat your input and try again."
		}
	}
	if v := string(top["anthropic_version"]); v != `"bedrock-2023-05-31"` {
		return nil, 400, "Malformed input request: #: required key [anthropic_version] not found or invalid, please reformat your input and try again."
	}
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
		return nil, 400, "Malformed input request: #: required key [messages] not found, please reformat your input and try again."
	}
	req.Model = model
	return &req, 0, ""
}

// esEvent is one event-stream event to send.
type esEvent struct {
	typ     string
	payload []byte
}

// bedrockChunks is the Anthropic stream as InvokeModelWithResponseStream
// sends it: each event's JSON, base64, in a chunk. Bedrock sends no pings,
// and adds its invocation metrics to message_stop.
func (a *answer) bedrockChunks() []esEvent {
	var out []esEvent
	for _, fr := range a.anthropicSSE() {
		_, data, _ := strings.Cut(fr, "\ndata: ")
		data = strings.TrimSuffix(data, "\n\n")
		if strings.Contains(data, `"type": "ping"`) {
			continue
		}
		if data == `{"type":"message_stop"}` {
			data = fmt.Sprintf(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":%d,"outputTokenCount":%d,"invocationLatency":120,"firstByteLatency":80}}`, a.inTokens, a.outTokens)
		}
		out = append(out, esEvent{"chunk", fmt.Appendf(nil, `{"bytes":%q,"p":"abcdefghij"}`, base64.StdEncoding.EncodeToString([]byte(data)))})
	}
	return out
}

// converseRequest reads a Converse body into the fake's request, with
// Anthropic-shaped content so the shared answer logic can read it. msg is
// non-empty when Bedrock would refuse it.
func converseRequest(model string, body []byte) (*wireRequest, string) {
	var w struct {
		Model    *json.RawMessage `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Text       *string         `json:"text"`
				ToolUse    json.RawMessage `json:"toolUse"`
				ToolResult *struct {
					Content []struct {
						Text string `json:"text"`
					} `json:"content"`
				} `json:"toolResult"`
			} `json:"content"`
		} `json:"messages"`
		ToolConfig *struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"toolConfig"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, "Malformed input request, please reformat your input and try again."
	}
	if w.Model != nil {
		return nil, "extraneous key [model] is not permitted"
	}
	if len(w.Messages) == 0 || w.Messages[0].Role != "user" {
		return nil, "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	req := &wireRequest{Model: model}
	if w.ToolConfig != nil {
		req.Tools = w.ToolConfig.Tools
	}
	for _, m := range w.Messages {
		var blocks []string
		for _, c := range m.Content {
			switch {
			case c.Text != nil:
				if strings.TrimSpace(*c.Text) == "" {
					return nil, "The text field in the ContentBlock object is blank. Add text to the text field, and try again."
				}
				blocks = append(blocks, `{"type":"text","text":`+q(*c.Text)+`}`)
			case c.ToolResult != nil || c.ToolUse != nil:
				if w.ToolConfig == nil {
					return nil, "The toolConfig field must be defined when using toolUse and toolResult content blocks."
				}
				if c.ToolResult != nil {
					var parts []string
					for _, p := range c.ToolResult.Content {
						parts = append(parts, `{"type":"text","text":`+q(p.Text)+`}`)
					}
					blocks = append(blocks, `{"type":"tool_result","content":[`+strings.Join(parts, ",")+`]}`)
				}
			}
		}
		req.Messages = append(req.Messages, struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}{m.Role, json.RawMessage("[" + strings.Join(blocks, ",") + "]")})
	}
	return req, ""
}

func (a *answer) converseStop() string {
	switch {
	case a.tool != nil:
		return "tool_use"
	case a.refuse:
		return "content_filtered"
	}
	return "end_turn"
}

func (a *answer) converseUsage() string {
	return fmt.Sprintf(`{"inputTokens":%d,"outputTokens":%d,"totalTokens":%d}`, a.inTokens, a.outTokens, a.inTokens+a.outTokens)
}

func (a *answer) converseJSON() []byte {
	content := `{"text":` + q(a.text) + `}`
	if a.tool != nil {
		content = fmt.Sprintf(`{"toolUse":{"toolUseId":"tooluse_fake01","name":%s,"input":%s}}`, q(a.tool.Name), a.tool.Arguments)
	}
	return fmt.Appendf(nil, `{"output":{"message":{"role":"assistant","content":[%s]}},"stopReason":%q,"usage":%s,"metrics":{"latencyMs":120}}`,
		content, a.converseStop(), a.converseUsage())
}

// converseEvents is the ConverseStream answer. Like Bedrock, a text block
// has no contentBlockStart; a tool use block does.
func (a *answer) converseEvents() []esEvent {
	ev := func(typ, payload string) esEvent { return esEvent{typ, []byte(payload)} }
	out := []esEvent{ev("messageStart", `{"p":"abcd","role":"assistant"}`)}
	if a.tool != nil {
		out = append(out, ev("contentBlockStart", fmt.Sprintf(`{"contentBlockIndex":0,"p":"abc","start":{"toolUse":{"name":%s,"toolUseId":"tooluse_fake01"}}}`, q(a.tool.Name))))
		for _, p := range pieces(a.tool.Arguments, 8) {
			out = append(out, ev("contentBlockDelta", fmt.Sprintf(`{"contentBlockIndex":0,"delta":{"toolUse":{"input":%s}},"p":"ab"}`, q(p))))
		}
	} else {
		for _, p := range pieces(a.text, 6) {
			out = append(out, ev("contentBlockDelta", fmt.Sprintf(`{"contentBlockIndex":0,"delta":{"text":%s},"p":"abcdef"}`, q(p))))
		}
	}
	return append(out,
		ev("contentBlockStop", `{"contentBlockIndex":0,"p":"abcdefgh"}`),
		ev("messageStop", fmt.Sprintf(`{"p":"abc","stopReason":%q}`, a.converseStop())),
		ev("metadata", fmt.Sprintf(`{"metrics":{"latencyMs":120},"p":"a","usage":%s}`, a.converseUsage())),
	)
}

// Package fakeupstream is a stand-in for the Anthropic and OpenAI APIs, for
// tests and benchmarks. It speaks their real wire formats — JSON bodies, SSE
// event framing and error bodies — written from the public API references,
// independently of Brightline's own encoders, so that a bug in those
// encoders cannot hide itself.
//
// The fake echoes the last user message, or calls a tool when told to, and
// has hooks to fail, stall, or break a stream half-way.
package fakeupstream

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Failure describes how the fake answers one request instead of normally.
type Failure struct {
	Status     int           // non-zero: answer with this status and the vendor's error body
	ErrorType  string        // error type in the body; default from Status
	RetryAfter string        // Retry-After header value, if any
	Delay      time.Duration // wait this long (or until the client leaves) before answering
	// BreakAfter > 0: stream normally for this many SSE frames, then drop the
	// connection without ending the stream.
	BreakAfter int
	// ErrorEvent: after BreakAfter frames (or at once), send the vendor's
	// in-stream error event instead of dropping the connection.
	ErrorEvent bool
	// Message is the error body's message; default the status text.
	Message string
}

// ToolCall makes the fake answer with a call to a tool.
type ToolCall struct {
	Name      string
	Arguments string // a JSON object
}

// ServerToolCall makes the fake answer like a provider that ran a tool
// itself: a server_tool_use block (mcp_tool_use for Kind "mcp"), the
// tool's result block, then text. The Anthropic API does that only when
// the request enables the tool, so the fake does too: Kind "mcp" needs
// mcp_servers naming Server (and, like the API, the mcp-client beta
// header, or the answer is a 400); the other kinds need a tool of the
// matching server type (web_search_*, web_fetch_*, code_execution_*).
type ServerToolCall struct {
	Kind      string // "mcp", "web_search", "web_fetch" or "code_execution"
	Server    string // the MCP server's name, for Kind "mcp"
	Name      string // the tool's name; for other kinds, default Kind
	Arguments string // a JSON object
	Result    string // the text the tool returned
}

// Request is one request the fake received.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Server is a fake Anthropic and OpenAI API. Mount it with httptest; it
// serves POST /v1/messages (Anthropic), POST /v1/chat/completions and
// POST /v1/responses (OpenAI, with or without the /v1 base path).
type Server struct {
	// Model overrides the model name in answers; empty echoes the request's.
	Model string
	// Tool, if set and the request offers tools and its last message is
	// not a tool result, makes the fake call it.
	Tool *ToolCall
	// Fail, if set, is asked about each request (n counts from 1) and may
	// return a failure to act out.
	Fail func(n int) *Failure
	// ServerTool, if set and the request enables the tool, makes the fake
	// run it itself (Anthropic only).
	ServerTool *ServerToolCall
	// ExtraBlock, if set, is a content block (JSON) the fake puts before
	// its text in Anthropic answers, streamed or not: say one of a type
	// the gateway does not know.
	ExtraBlock string
	// Refuse makes the fake decline like a model's safety system: stop
	// reason "refusal" (Anthropic) or finish reason "content_filter"
	// (OpenAI), with a short text.
	Refuse bool
	// EventDelay paces stream frames.
	EventDelay time.Duration
	// Latency is the model's time to answer: every request waits this long
	// (or until the client leaves) before the first byte.
	Latency time.Duration
	// Record keeps every request in Requests.
	Record bool
	// Receipts, if set, makes the fake a provider that checks Brightline's
	// upstream receipts (an *auditverify/provider.Verifier): a request it
	// refuses is answered with 403 and the vendor's permission error,
	// whose message names the reason, and counted in Refused. The
	// Bedrock and Vertex fakes check after the request's authentication.
	Receipts ReceiptChecker

	n         atomic.Int64
	refused   atomic.Int64
	cancelled atomic.Int64
	mu        sync.Mutex
	requests  []Request
}

// Requests returns the requests received so far (only with Record).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ReceiptChecker checks a request's Brightline-Receipt header against its
// body.
type ReceiptChecker interface {
	Check(r *http.Request, body []byte) error
}

// Refused returns how many requests Receipts refused.
func (s *Server) Refused() int { return int(s.refused.Load()) }

// checkReceipt reports the refusal message, or "" if Receipts is unset or
// accepts the request.
func (s *Server) checkReceipt(r *http.Request, body []byte) string {
	if s.Receipts == nil {
		return ""
	}
	if err := s.Receipts.Check(r, body); err != nil {
		s.refused.Add(1)
		return "Brightline receipt refused: " + err.Error()
	}
	return ""
}

// Count returns how many requests the fake has received.
func (s *Server) Count() int { return int(s.n.Load()) }

// Cancelled returns how many requests ended because the client went away
// while the fake was still answering.
func (s *Server) Cancelled() int { return int(s.cancelled.Load()) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var anthropic, responsesAPI bool
	switch r.URL.Path {
	case "/v1/messages":
		anthropic = true
	case "/v1/responses", "/responses":
		responsesAPI = true
	case "/v1/chat/completions", "/chat/completions":
	default:
		http.NotFound(w, r)
		return
	}
	n := int(s.n.Add(1))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if s.Record {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		s.mu.Unlock()
	}
	if msg := s.checkReceipt(r, body); msg != "" {
		writeError(w, anthropic, Failure{Status: http.StatusForbidden, ErrorType: "permission_error", Message: msg})
		return
	}
	var f Failure
	if s.Fail != nil {
		if ff := s.Fail(n); ff != nil {
			f = *ff
		}
	}
	if d := f.Delay + s.Latency; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			s.cancelled.Add(1)
			return
		}
	}
	if f.Status != 0 {
		writeError(w, anthropic, f)
		return
	}
	if responsesAPI {
		s.serveResponses(w, r, body, f)
		return
	}
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" {
		writeError(w, anthropic, Failure{Status: 400, ErrorType: "invalid_request_error"})
		return
	}
	if anthropic && len(req.MCPServers) > 0 && !strings.Contains(r.Header.Get("anthropic-beta"), "mcp-client-") {
		// The API refuses mcp_servers without the beta.
		writeError(w, anthropic, Failure{Status: 400, ErrorType: "invalid_request_error"})
		return
	}
	a := s.answer(&req, anthropic)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		if anthropic {
			w.Write(a.anthropicJSON())
		} else {
			w.Write(a.openaiJSON(req.StreamOptions.IncludeUsage))
		}
		return
	}
	var frames []string
	if anthropic {
		frames = a.anthropicSSE()
	} else {
		frames = a.openaiSSE(req.StreamOptions.IncludeUsage)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i, fr := range frames {
		if (f.BreakAfter > 0 || f.ErrorEvent) && i == f.BreakAfter {
			if f.ErrorEvent {
				if anthropic {
					io.WriteString(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
				} else {
					io.WriteString(w, "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n")
				}
				rc.Flush()
				return
			}
			rc.Flush()
			// Drop the connection mid-stream.
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			} else {
				panic(http.ErrAbortHandler)
			}
			return
		}
		if s.EventDelay > 0 && i > 0 {
			select {
			case <-time.After(s.EventDelay):
			case <-r.Context().Done():
				s.cancelled.Add(1)
				return
			}
		}
		if _, err := io.WriteString(w, fr); err != nil {
			s.cancelled.Add(1)
			return
		}
		if err := rc.Flush(); err != nil {
			s.cancelled.Add(1)
			return
		}
	}
}

// wireRequest is the part of either request format the fake looks at.
type wireRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools      []json.RawMessage `json:"tools"`
	MCPServers []struct {
		Name string `json:"name"`
	} `json:"mcp_servers"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

// answer is what the fake will say, independent of format.
type answer struct {
	id, model string
	text      string
	refuse    bool
	tool      *ToolCall
	server    *ServerToolCall
	extra     string
	inTokens  int
	outTokens int
}

func (s *Server) answer(req *wireRequest, anthropic bool) *answer {
	a := &answer{model: req.Model}
	if s.Model != "" {
		a.model = s.Model
	}
	if anthropic {
		a.id = fmt.Sprintf("msg_fake%08d", s.n.Load())
	} else {
		a.id = fmt.Sprintf("chatcmpl-fake%08d", s.n.Load())
	}
	var last string
	lastIsToolResult := false
	for _, m := range req.Messages {
		a.inTokens += len(strings.Fields(string(m.Content)))
		if m.Role == "tool" {
			lastIsToolResult = true
			last = contentText(m.Content)
			continue
		}
		lastIsToolResult = m.Role == "user" && strings.Contains(string(m.Content), `"tool_result"`)
		if m.Role == "user" {
			last = contentText(m.Content)
		}
	}
	if s.Refuse {
		a.refuse = true
		a.text = "I can't help with that."
		a.outTokens = 5
		return a
	}
	if anthropic {
		a.extra = s.ExtraBlock
		if st := s.ServerTool; st != nil && req.enables(st) {
			a.server = st
			a.text = "The tool said: " + st.Result
			a.outTokens = len(strings.Fields(a.text)) + 12
			return a
		}
	}
	if s.Tool != nil && len(req.Tools) > 0 && !lastIsToolResult {
		a.tool = s.Tool
		a.outTokens = 12
		return a
	}
	if lastIsToolResult {
		a.text = "Thanks, the tool said: " + last
	} else {
		a.text = "echo: " + last
	}
	a.outTokens = len(strings.Fields(a.text))
	return a
}

// contentText flattens string or block content to its text.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Type    string          `json:"type"`
		Text    string          `json:"text"`
		Content json.RawMessage `json:"content"`
	}
	json.Unmarshal(raw, &blocks)
	var parts []string
	for _, b := range blocks {
		switch {
		case b.Type == "text":
			parts = append(parts, b.Text)
		case b.Type == "tool_result":
			parts = append(parts, contentText(b.Content))
		}
	}
	return strings.Join(parts, " ")
}

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pieces splits s into chunks of about n bytes, as providers do.
func pieces(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if s != "" || len(out) == 0 {
		out = append(out, s)
	}
	return out
}

// enables reports whether the request turns on the server tool st.
func (req *wireRequest) enables(st *ServerToolCall) bool {
	if st.Kind == "mcp" {
		for _, m := range req.MCPServers {
			if m.Name == st.Server {
				return true
			}
		}
		return false
	}
	for _, raw := range req.Tools {
		var t struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &t) == nil && strings.HasPrefix(t.Type, st.Kind+"_") {
			return true
		}
	}
	return false
}

// anthropicBlock is one content block of an Anthropic answer: whole, and
// as a stream sends it (content_block_start, then deltas).
type anthropicBlock struct {
	whole  string
	start  string
	deltas []string
}

func (a *answer) anthropicBlocks() []anthropicBlock {
	var out []anthropicBlock
	if a.extra != "" {
		out = append(out, anthropicBlock{whole: a.extra, start: a.extra})
	}
	if st := a.server; st != nil {
		name := st.Name
		if name == "" {
			name = st.Kind
		}
		id, use := "srvtoolu_01fake", `{"type":"server_tool_use","id":"srvtoolu_01fake","name":`+q(name)
		if st.Kind == "mcp" {
			id, use = "mcptoolu_01fake", `{"type":"mcp_tool_use","id":"mcptoolu_01fake","name":`+q(name)+`,"server_name":`+q(st.Server)
		}
		var deltas []string
		for _, p := range pieces(st.Arguments, 8) {
			deltas = append(deltas, `{"type":"input_json_delta","partial_json":`+q(p)+`}`)
		}
		out = append(out, anthropicBlock{whole: use + `,"input":` + st.Arguments + `}`, start: use + `,"input":{}}`, deltas: deltas})
		var result string
		switch st.Kind {
		case "mcp":
			result = `{"type":"mcp_tool_result","tool_use_id":` + q(id) + `,"is_error":false,"content":[{"type":"text","text":` + q(st.Result) + `}]}`
		case "web_search":
			result = `{"type":"web_search_tool_result","tool_use_id":` + q(id) + `,"content":[{"type":"web_search_result","title":` + q(st.Result) + `,"url":"https://example.com/result","encrypted_content":"EqgfakeEncryptedContent","page_age":null}]}`
		case "web_fetch":
			result = `{"type":"web_fetch_tool_result","tool_use_id":` + q(id) + `,"content":{"type":"web_fetch_result","url":"https://example.com/page","retrieved_at":"2025-01-01T00:00:00Z","content":{"type":"document","source":{"type":"text","media_type":"text/plain","data":` + q(st.Result) + `},"title":"Example"}}}`
		default: // code_execution
			result = `{"type":"code_execution_tool_result","tool_use_id":` + q(id) + `,"content":{"type":"code_execution_result","stdout":` + q(st.Result) + `,"stderr":"","return_code":0,"content":[]}}`
		}
		out = append(out, anthropicBlock{whole: result, start: result})
	}
	if a.tool != nil {
		var deltas []string
		for _, p := range pieces(a.tool.Arguments, 8) {
			deltas = append(deltas, `{"type":"input_json_delta","partial_json":`+q(p)+`}`)
		}
		return append(out, anthropicBlock{
			whole:  fmt.Sprintf(`{"type":"tool_use","id":"toolu_01fake","name":%s,"input":%s}`, q(a.tool.Name), a.tool.Arguments),
			start:  fmt.Sprintf(`{"type":"tool_use","id":"toolu_01fake","name":%s,"input":{}}`, q(a.tool.Name)),
			deltas: deltas,
		})
	}
	var deltas []string
	for _, p := range pieces(a.text, 6) {
		deltas = append(deltas, `{"type":"text_delta","text":`+q(p)+`}`)
	}
	return append(out, anthropicBlock{whole: fmt.Sprintf(`{"type":"text","text":%s}`, q(a.text)), start: `{"type":"text","text":""}`, deltas: deltas})
}

func (a *answer) anthropicStop() string {
	switch {
	case a.tool != nil:
		return "tool_use"
	case a.refuse:
		return "refusal"
	}
	return "end_turn"
}

// anthropicUsage is the usage object; server tools add their counts.
func (a *answer) anthropicUsage(input bool) string {
	var b strings.Builder
	b.WriteByte('{')
	if input {
		fmt.Fprintf(&b, `"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,`, a.inTokens)
	}
	fmt.Fprintf(&b, `"output_tokens":%d`, a.outTokens)
	if a.server != nil && a.server.Kind == "web_search" {
		b.WriteString(`,"server_tool_use":{"web_search_requests":1}`)
	}
	b.WriteByte('}')
	return b.String()
}

func (a *answer) anthropicJSON() []byte {
	var content []string
	for _, b := range a.anthropicBlocks() {
		content = append(content, b.whole)
	}
	return fmt.Appendf(nil, `{"id":%s,"type":"message","role":"assistant","model":%s,"content":[%s],"stop_reason":%q,"stop_sequence":null,"usage":%s}`,
		q(a.id), q(a.model), strings.Join(content, ","), a.anthropicStop(), a.anthropicUsage(true))
}

func (a *answer) anthropicSSE() []string {
	ev := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	f := []string{
		ev("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":%s,"type":"message","role":"assistant","content":[],"model":%s,"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`, q(a.id), q(a.model), a.inTokens)),
	}
	for i, b := range a.anthropicBlocks() {
		f = append(f, ev("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":%s}`, i, b.start)))
		if i == 0 {
			f = append(f, ev("ping", `{"type": "ping"}`))
		}
		for _, d := range b.deltas {
			f = append(f, ev("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":%s}`, i, d)))
		}
		f = append(f, ev("content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, i)))
	}
	return append(f,
		ev("message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":%s}`, a.anthropicStop(), a.anthropicUsage(false))),
		ev("message_stop", `{"type":"message_stop"}`),
	)
}

const created = 1735689600 // fixed, so answers are reproducible

func (a *answer) openaiJSON(bool) []byte {
	var msg, finish string
	if a.tool != nil {
		msg = fmt.Sprintf(`{"role":"assistant","content":null,"tool_calls":[{"id":"call_fake01","type":"function","function":{"name":%s,"arguments":%s}}],"refusal":null,"annotations":[]}`, q(a.tool.Name), q(a.tool.Arguments))
		finish = "tool_calls"
	} else {
		msg = fmt.Sprintf(`{"role":"assistant","content":%s,"refusal":null,"annotations":[]}`, q(a.text))
		finish = "stop"
		if a.refuse {
			finish = "content_filter"
		}
	}
	return fmt.Appendf(nil, `{"id":%s,"object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,"message":%s,"logprobs":null,"finish_reason":%q}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fake"}`,
		q(a.id), created, q(a.model), msg, finish, a.inTokens, a.outTokens, a.inTokens+a.outTokens)
}

func (a *answer) openaiSSE(includeUsage bool) []string {
	usage := ""
	if includeUsage {
		usage = `,"usage":null`
	}
	chunk := func(delta, finish string) string {
		return fmt.Sprintf("data: {\"id\":%s,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%s,\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\",\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":%s}]%s}\n\n",
			q(a.id), created, q(a.model), delta, finish, usage)
	}
	f := []string{chunk(`{"role":"assistant","content":"","refusal":null}`, "null")}
	finish := `"stop"`
	if a.refuse {
		finish = `"content_filter"`
	}
	if a.tool != nil {
		finish = `"tool_calls"`
		f = append(f, chunk(fmt.Sprintf(`{"tool_calls":[{"index":0,"id":"call_fake01","type":"function","function":{"name":%s,"arguments":""}}]}`, q(a.tool.Name)), "null"))
		for _, p := range pieces(a.tool.Arguments, 8) {
			f = append(f, chunk(fmt.Sprintf(`{"tool_calls":[{"index":0,"function":{"arguments":%s}}]}`, q(p)), "null"))
		}
	} else {
		for _, p := range pieces(a.text, 6) {
			f = append(f, chunk(fmt.Sprintf(`{"content":%s}`, q(p)), "null"))
		}
	}
	f = append(f, chunk(`{}`, finish))
	if includeUsage {
		f = append(f, fmt.Sprintf("data: {\"id\":%s,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%s,\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fake\",\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d,\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}\n\n",
			q(a.id), created, q(a.model), a.inTokens, a.outTokens, a.inTokens+a.outTokens))
	}
	return append(f, "data: [DONE]\n\n")
}

// writeError answers with the vendor's error body for f.Status.
func writeError(w http.ResponseWriter, anthropic bool, f Failure) {
	typ := f.ErrorType
	msg := http.StatusText(f.Status)
	if f.Message != "" {
		msg = f.Message
	}
	if anthropic {
		if typ == "" {
			typ = map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
				404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}[f.Status]
			if typ == "" {
				typ = "api_error"
			}
		}
		if f.Status == 529 && f.Message == "" {
			msg = "Overloaded"
		}
	} else if typ == "" {
		typ = map[int]string{400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}[f.Status]
		if typ == "" {
			typ = "server_error"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if anthropic {
		w.Header().Set("request-id", "req_fake")
	} else {
		w.Header().Set("x-request-id", "req_fake")
	}
	w.WriteHeader(f.Status)
	if anthropic {
		fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%s},"request_id":"req_fake"}`, typ, q(msg))
	} else {
		fmt.Fprintf(w, `{"error":{"message":%s,"type":%q,"param":null,"code":null}}`, q(msg), typ)
	}
}

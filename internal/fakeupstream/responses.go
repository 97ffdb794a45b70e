package fakeupstream

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The OpenAI Responses API (POST /v1/responses), as its API reference
// describes it: a response object with output items, or, streamed, typed
// events ("event: response.output_text.delta" and a data object carrying
// the same type and a sequence_number).

// responsesRequest is the part of a Responses request the fake looks at.
type responsesRequest struct {
	Model              string            `json:"model"`
	Stream             bool              `json:"stream"`
	Instructions       string            `json:"instructions"`
	Input              json.RawMessage   `json:"input"`
	Tools              []json.RawMessage `json:"tools"`
	PreviousResponseID string            `json:"previous_response_id"`
}

// responsesItem is an input item: a message, a function call or its output.
type responsesItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Output  json.RawMessage `json:"output"`
}

// responsesText flattens string or part-list content to its text.
func responsesText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &parts)
	var out []string
	for _, p := range parts {
		if p.Type == "input_text" || p.Type == "output_text" {
			out = append(out, p.Text)
		}
	}
	return strings.Join(out, " ")
}

func (s *Server) serveResponses(w http.ResponseWriter, r *http.Request, body []byte, f Failure) {
	var req responsesRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" || len(req.Input) == 0 {
		writeError(w, false, Failure{Status: 400, ErrorType: "invalid_request_error"})
		return
	}
	if req.PreviousResponseID != "" {
		// The fake stores nothing, like a request with store: false.
		writeError(w, false, Failure{Status: 400, ErrorType: "invalid_request_error"})
		return
	}
	a := &answer{model: req.Model, id: fmt.Sprintf("resp_fake%08d", s.n.Load())}
	if s.Model != "" {
		a.model = s.Model
	}
	a.inTokens = len(strings.Fields(req.Instructions))
	var last string
	lastIsToolResult := false
	var items []responsesItem
	if json.Unmarshal(req.Input, &last) != nil {
		if err := json.Unmarshal(req.Input, &items); err != nil {
			writeError(w, false, Failure{Status: 400, ErrorType: "invalid_request_error"})
			return
		}
	}
	a.inTokens += len(strings.Fields(last))
	for _, it := range items {
		switch {
		case it.Type == "function_call_output":
			lastIsToolResult = true
			last = responsesText(it.Output)
		case it.Type == "message" || it.Type == "":
			lastIsToolResult = false
			if it.Role == "user" {
				last = responsesText(it.Content)
			}
		default:
			lastIsToolResult = false
		}
		a.inTokens += len(strings.Fields(string(it.Content))) + len(strings.Fields(string(it.Output)))
	}
	switch {
	case s.Refuse:
		a.refuse = true
		a.text = "I can't help with that."
	case s.Tool != nil && len(req.Tools) > 0 && !lastIsToolResult:
		a.tool = s.Tool
	case lastIsToolResult:
		a.text = "Thanks, the tool said: " + last
	default:
		a.text = "echo: " + last
	}
	a.outTokens = len(strings.Fields(a.text))
	if a.tool != nil {
		a.outTokens = 12
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		w.Write(a.responsesJSON())
		return
	}
	frames := a.responsesSSE()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i, fr := range frames {
		if (f.BreakAfter > 0 || f.ErrorEvent) && i == f.BreakAfter {
			if f.ErrorEvent {
				fmt.Fprintf(w, "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"The server had an error while processing your request.\",\"param\":null,\"sequence_number\":%d}\n\n", i)
				rc.Flush()
				return
			}
			rc.Flush()
			panic(http.ErrAbortHandler) // drop the connection mid-stream
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

// responsesItemJSON is the answer's one output item, complete.
func (a *answer) responsesItemJSON() string {
	if a.tool != nil {
		return fmt.Sprintf(`{"id":"fc_fake01","type":"function_call","status":"completed","arguments":%s,"call_id":"call_fake01","name":%s}`, q(a.tool.Arguments), q(a.tool.Name))
	}
	part := fmt.Sprintf(`{"type":"output_text","annotations":[],"logprobs":[],"text":%s}`, q(a.text))
	if a.refuse {
		part = fmt.Sprintf(`{"type":"refusal","refusal":%s}`, q(a.text))
	}
	return `{"id":"msg_fake01","type":"message","status":"completed","content":[` + part + `],"role":"assistant"}`
}

// responsesObject is the response object with the given status and output.
func (a *answer) responsesObject(status, output, usage string) string {
	return fmt.Sprintf(`{"id":%s,"object":"response","created_at":%d,"status":%q,"background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":%s,"output":[%s],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":%s,"user":null,"metadata":{}}`,
		q(a.id), created, status, q(a.model), output, usage)
}

func (a *answer) responsesUsage() string {
	return fmt.Sprintf(`{"input_tokens":%d,"input_tokens_details":{"cached_tokens":0},"output_tokens":%d,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":%d}`,
		a.inTokens, a.outTokens, a.inTokens+a.outTokens)
}

func (a *answer) responsesJSON() []byte {
	return []byte(a.responsesObject("completed", a.responsesItemJSON(), a.responsesUsage()))
}

func (a *answer) responsesSSE() []string {
	var f []string
	ev := func(typ, fields string) {
		f = append(f, fmt.Sprintf("event: %s\ndata: {\"type\":%q,\"sequence_number\":%d,%s}\n\n", typ, typ, len(f), fields))
	}
	ev("response.created", `"response":`+a.responsesObject("in_progress", "", "null"))
	ev("response.in_progress", `"response":`+a.responsesObject("in_progress", "", "null"))
	if a.tool != nil {
		ev("response.output_item.added", fmt.Sprintf(`"output_index":0,"item":{"id":"fc_fake01","type":"function_call","status":"in_progress","arguments":"","call_id":"call_fake01","name":%s}`, q(a.tool.Name)))
		for _, p := range pieces(a.tool.Arguments, 8) {
			ev("response.function_call_arguments.delta", fmt.Sprintf(`"item_id":"fc_fake01","output_index":0,"delta":%s,"obfuscation":"x"`, q(p)))
		}
		ev("response.function_call_arguments.done", fmt.Sprintf(`"item_id":"fc_fake01","output_index":0,"arguments":%s`, q(a.tool.Arguments)))
	} else {
		ev("response.output_item.added", `"output_index":0,"item":{"id":"msg_fake01","type":"message","status":"in_progress","content":[],"role":"assistant"}`)
		kind, field := "output_text", "text"
		if a.refuse {
			kind, field = "refusal", "refusal"
		}
		ev("response.content_part.added", fmt.Sprintf(`"item_id":"msg_fake01","output_index":0,"content_index":0,"part":{"type":%q,%q:""}`, kind, field))
		for _, p := range pieces(a.text, 6) {
			ev("response."+kind+".delta", fmt.Sprintf(`"item_id":"msg_fake01","output_index":0,"content_index":0,"delta":%s,"logprobs":[]`, q(p)))
		}
		ev("response."+kind+".done", fmt.Sprintf(`"item_id":"msg_fake01","output_index":0,"content_index":0,%q:%s,"logprobs":[]`, field, q(a.text)))
		ev("response.content_part.done", fmt.Sprintf(`"item_id":"msg_fake01","output_index":0,"content_index":0,"part":{"type":%q,%q:%s}`, kind, field, q(a.text)))
	}
	ev("response.output_item.done", `"output_index":0,"item":`+a.responsesItemJSON())
	ev("response.completed", `"response":`+a.responsesObject("completed", a.responsesItemJSON(), a.responsesUsage()))
	return f
}

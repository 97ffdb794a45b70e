package openai

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/brightline/brightline"
)

type allowList struct{ fields, kinds []string }

func (a allowList) AllowsRequestField(dialect, field string) bool {
	return dialect == "openai" && slices.Contains(a.fields, field)
}
func (a allowList) AllowsServerTool(kind string) bool { return slices.Contains(a.kinds, kind) }

func TestDecodeClientRequestAllowList(t *testing.T) {
	const head = `{"model":"m","messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body string
		allow      Allow
		wantErr    string
		fields     []string
		text       []string
	}{
		{"modelled and harmless", head + `,"seed":1,"metadata":{"case":"Ann Lee"},"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"description":"a person"}}}}`, nil, "",
			[]string{"seed", "metadata", "response_format"}, []string{"Ann Lee", "json_schema", "r", "a person"}},
		{"unknown field", head + `,"future_field":1}`, nil, `future_field: the gateway does not model`, nil, nil},
		{"prediction refused", head + `,"prediction":{"type":"content","content":"x"}}`, nil, `prediction:`, nil, nil},
		{"audio refused", head + `,"audio":{"voice":"alloy","format":"wav"}}`, allowList{fields: []string{"prediction"}}, `audio:`, nil, nil},
		{"prediction allowed", head + `,"prediction":{"type":"content","content":"Ann Lee, (212) 555-0101"}}`, allowList{fields: []string{"prediction"}}, "",
			[]string{"prediction"}, []string{"content", "Ann Lee, (212) 555-0101"}},
		{"web search refused", head + `,"web_search_options":{}}`, allowList{fields: []string{"web_search_options"}}, `kind "web_search"`, nil, nil},
		{"web search allowed", head + `,"web_search_options":{"user_location":{"type":"approximate","approximate":{"city":"Boston"}}}}`, allowList{kinds: []string{"web_search"}}, "",
			[]string{"web_search_options"}, []string{"approximate", "Boston"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeClientRequest([]byte(tt.body), tt.allow)
			if tt.wantErr != "" {
				var be *brightline.Error
				if !errors.As(err, &be) || be.Code != brightline.CodeInvalidRequest || !strings.Contains(be.Message, tt.wantErr) {
					t.Fatalf("got %v, want invalid_request containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want it accepted", err)
			}
			if !slices.Equal(req.ExtraFields, tt.fields) || !slices.Equal(req.ExtraText, tt.text) {
				t.Errorf("got fields %q text %q, want %q %q", req.ExtraFields, req.ExtraText, tt.fields, tt.text)
			}
		})
	}
}

package llm

import "testing"

func TestSetTopLevelString(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"replace", `{"model":"a","messages":[]}`, `{"model":"b","messages":[]}`},
		{"spaces kept", `{ "x" : {"model":"keep"}, "model" :  "a" , "y":1}`, `{ "x" : {"model":"keep"}, "model" :  "b" , "y":1}`},
		{"nested ignored, absent added", `{"x":{"model":"keep"}}`, `{"model":"b","x":{"model":"keep"}}`},
		{"empty object", `{}`, `{"model":"b"}`},
		{"non-string value replaced", `{"model":null}`, `{"model":"b"}`},
		{"unknown fields survive", `{"model":"a","future_field":{"deep":[1,2,3]}}`, `{"model":"b","future_field":{"deep":[1,2,3]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetTopLevelString([]byte(tt.body), "model", "b")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"model":`, `"x"`} {
		if _, err := SetTopLevelString([]byte(bad), "model", "b"); err == nil {
			t.Errorf("SetTopLevelString(%q): got no error, want one", bad)
		}
	}
}

package toolclass

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSchemaFields bounds the work done on one schema, so that a hostile
// upstream cannot make classification slow. Fields past the bound are not
// read; the tool's name and description are always read.
const maxSchemaFields = 512

// schemaNode is the part of a JSON Schema the classifier reads.
type schemaNode struct {
	Title       string                 `json:"title"`
	Description string                 `json:"description"`
	Properties  map[string]*schemaNode `json:"properties"`
	Items       *schemaNode            `json:"items"`
	Enum        []any                  `json:"enum"`
	Const       any                    `json:"const"`
	AnyOf       []*schemaNode          `json:"anyOf"`
	OneOf       []*schemaNode          `json:"oneOf"`
	AllOf       []*schemaNode          `json:"allOf"`
	Defs        map[string]*schemaNode `json:"$defs"`
	Definitions map[string]*schemaNode `json:"definitions"`
}

// toolFields splits t into fields of normalised words (see normTokens);
// the name is always fields[0]. A schema that does not decode is reported
// and otherwise ignored.
func toolFields(t Tool, one rune) ([]field, error) {
	fields := []field{{kind: fieldName, where: placeName, toks: normTokens(t.Name, one)}}
	fields = appendSentences(fields, fieldDesc, placeDesc, t.Description, one)
	if s := bytes.TrimSpace(t.InputSchema); len(s) == 0 || string(s) == "null" {
		return fields, nil
	}
	var root schemaNode
	if err := json.Unmarshal(t.InputSchema, &root); err != nil {
		return fields, fmt.Errorf("couldn't decode input schema: %w", err)
	}
	w := schemaWalker{fields: fields, one: one}
	w.walk(&root, "", 0)
	return w.fields, nil
}

type schemaWalker struct {
	fields []field
	one    rune // see normTokens
}

func (w *schemaWalker) walk(n *schemaNode, path string, depth int) {
	if n == nil || depth > 16 || len(w.fields) > maxSchemaFields {
		return
	}
	if depth > 0 {
		w.fields = appendSentences(w.fields, fieldSchema, place{"schema", path}, n.Title, w.one)
		w.fields = appendSentences(w.fields, fieldSchema, place{"schema", path}, n.Description, w.one)
	}
	for _, v := range append(n.Enum, n.Const) {
		if s, ok := v.(string); ok {
			w.fields = append(w.fields, field{kind: fieldSchema, where: place{"schema enum", s}, toks: normTokens(s, w.one)})
		}
	}
	for _, name := range sortedKeys(n.Properties) {
		if len(w.fields) > maxSchemaFields {
			return
		}
		p := path + "." + name
		if path == "" {
			p = name
		}
		w.fields = append(w.fields, field{kind: fieldSchema, where: place{"schema property", name}, toks: normTokens(name, w.one)})
		w.walk(n.Properties[name], p, depth+1)
	}
	w.walk(n.Items, path+"[]", depth+1)
	for _, sub := range slices.Concat(n.AnyOf, n.OneOf, n.AllOf) {
		w.walk(sub, path, depth+1)
	}
	for _, name := range sortedKeys(n.Defs) {
		w.walk(n.Defs[name], "$defs."+name, depth+1)
	}
	for _, name := range sortedKeys(n.Definitions) {
		w.walk(n.Definitions[name], "definitions."+name, depth+1)
	}
}

// appendSentences appends one field per sentence of text, so that the
// proximity rule does not join words across a full stop.
func appendSentences(fields []field, kind int, where place, text string, one rune) []field {
	for s := range strings.SplitSeq(text, ". ") {
		if toks := normTokens(s, one); len(toks) > 0 {
			fields = append(fields, field{kind: kind, where: where, toks: toks})
		}
	}
	return fields
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// normTokens returns the words of s after the confusable skeleton of
// [Normalize] (foldCase) and, when one is not 0, after its leetspeak
// mapping with 1 mapped to one.
func normTokens(s string, one rune) []string {
	s = foldCase(s)
	if one != 0 {
		s = deleet(s, one, true)
	}
	return tokens(s)
}

// tokens splits s into lower-case words at anything that is not a letter
// or digit, at lower-to-upper case changes ("fireInterceptor"), before the
// last capital of a run of capitals ("HTTPServer" → "http", "server") and
// between letters and digits ("mk82bomb" → "mk", "82", "bomb").
func tokens(s string) []string {
	var toks []string
	start := -1
	var prev rune
	flush := func(end int) {
		if start >= 0 && end > start {
			toks = append(toks, strings.ToLower(s[start:end]))
		}
		start = -1
	}
	for i, r := range s {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !alnum {
			flush(i)
			prev = 0
			continue
		}
		if start >= 0 {
			switch {
			case unicode.IsUpper(r) && unicode.IsLower(prev),
				unicode.IsDigit(r) != unicode.IsDigit(prev):
				flush(i)
			case unicode.IsLower(r) && unicode.IsUpper(prev) && i-start > utf8.RuneLen(prev):
				// "HTTPServer": the last capital starts the next word.
				flush(i - utf8.RuneLen(prev))
				start = i - utf8.RuneLen(prev)
			}
		}
		if start < 0 {
			start = i
		}
		prev = r
	}
	flush(len(s))
	return toks
}

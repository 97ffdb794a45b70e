package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/brightline/brightline/internal/llm"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/store"
)

// Answer is one side of a pair: what a provider answered, or how it failed.
type Answer struct {
	Response *llm.Response // nil when Err is set
	Err      error
}

// Compare fills in the comparison fields of a result for the primary and
// candidate answers: success, tool-call and refusal agreement, similarity
// and the detail. It leaves Route, Candidate and the latencies alone. It
// reads only what it needs and keeps no content.
func Compare(primary, candidate Answer) store.ShadowResult {
	var r store.ShadowResult
	r.PrimaryOK = primary.Err == nil && primary.Response != nil
	r.CandidateOK = candidate.Err == nil && candidate.Response != nil
	d := &r.Detail
	if !r.PrimaryOK {
		d.PrimaryError = errorClass(primary.Err)
	}
	if !r.CandidateOK {
		d.CandidateError = errorClass(candidate.Err)
	}
	var pTools, cTools []string
	if r.PrimaryOK {
		d.PrimaryStop = string(primary.Response.StopReason)
		pTools, _ = toolNames(primary.Response)
		d.PrimaryTools = pTools
	}
	if r.CandidateOK {
		d.CandidateStop = string(candidate.Response.StopReason)
		cTools, d.InvalidArguments = toolNames(candidate.Response)
		d.CandidateTools = cTools
	}
	if !r.PrimaryOK || !r.CandidateOK {
		return r
	}
	if len(pTools) > 0 || len(cTools) > 0 {
		agree := slices.Equal(pTools, cTools) && d.InvalidArguments == 0
		r.ToolAgreement = &agree
	}
	refusal := (primary.Response.StopReason == llm.StopRefusal) == (candidate.Response.StopReason == llm.StopRefusal)
	r.RefusalAgreement = &refusal
	sim := Similarity(primary.Response, candidate.Response)
	r.Similarity = &sim
	return r
}

// toolNames returns the distinct names of the tools resp calls, sorted, and
// how many of its calls have arguments that are not a JSON object.
func toolNames(resp *llm.Response) (names []string, invalid int) {
	for _, b := range resp.Content {
		if b.Type != llm.BlockToolUse || b.ToolCall == nil {
			continue
		}
		names = append(names, b.ToolCall.Name)
		if !isJSONObject(b.ToolCall.Arguments) {
			invalid++
		}
	}
	slices.Sort(names)
	return slices.Compact(names), invalid
}

func isJSONObject(b json.RawMessage) bool {
	var obj map[string]json.RawMessage
	// Unmarshal into a map accepts exactly a JSON object (and null, which
	// is not one).
	return json.Unmarshal(b, &obj) == nil && obj != nil
}

// Similarity is the Jaccard index of the two answers' word sets: the number
// of distinct words both use divided by the number of distinct words either
// uses. A word is a maximal run of letters and digits, lower-cased; only
// text blocks count (not thinking, not tool calls). It is 1 when neither
// answer has any word, and 0 when only one has.
//
// It is deliberately crude: it says whether two answers talk about the same
// things, not whether they mean the same.
func Similarity(a, b *llm.Response) float64 {
	wa, wb := words(a), words(b)
	if len(wa) == 0 && len(wb) == 0 {
		return 1
	}
	both := 0
	for w := range wa {
		if _, ok := wb[w]; ok {
			both++
		}
	}
	return float64(both) / float64(len(wa)+len(wb)-both)
}

func words(resp *llm.Response) map[string]struct{} {
	set := make(map[string]struct{})
	for _, b := range resp.Content {
		if b.Type != llm.BlockText {
			continue
		}
		for _, w := range strings.FieldsFunc(b.Text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			set[strings.ToLower(w)] = struct{}{}
		}
	}
	return set
}

// errorClass names a failure without quoting it: error text may carry
// parts of the request.
func errorClass(err error) string {
	if err == nil {
		return "no answer"
	}
	if te, ok := errors.AsType[*provider.TimeoutError](err); ok && te != nil {
		return "timeout"
	}
	if we, ok := errors.AsType[*llm.WireError](err); ok && we != nil {
		return "status " + strconv.Itoa(we.Status)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

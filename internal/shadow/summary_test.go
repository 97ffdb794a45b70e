package shadow

import (
	"reflect"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
)

func TestSummarizer(t *testing.T) {
	yes, no := true, false
	half := 0.5
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var z Summarizer
	if got := z.Summaries(); got == nil || len(got) != 0 {
		t.Errorf("zero value: got %#v, want an empty, non-nil slice", got)
	}
	for _, r := range []store.ShadowResult{
		{Route: "b", Candidate: "x", PrimaryOK: true, CandidateOK: true, PrimaryLatency: ms(4), CandidateLatency: ms(40), RefusalAgreement: &yes, Similarity: &half, ToolAgreement: &no},
		{Route: "b", Candidate: "x", PrimaryOK: true, CandidateOK: true, PrimaryLatency: ms(1), CandidateLatency: ms(10), RefusalAgreement: &no, Similarity: &half},
		{Route: "b", Candidate: "x", PrimaryOK: true, PrimaryLatency: ms(3), CandidateLatency: ms(9000)},
		{Route: "b", Candidate: "x", PrimaryOK: true, CandidateOK: true, PrimaryLatency: ms(2), CandidateLatency: ms(20), RefusalAgreement: &yes, Similarity: &half},
		{Route: "a", Candidate: "y"},
		{Route: "b", Candidate: "w"},
	} {
		z.Add(r)
	}
	got := z.Summaries()
	want := []Summary{
		{Route: "a", Candidate: "y", Samples: 1},
		{Route: "b", Candidate: "w", Samples: 1},
		{Route: "b", Candidate: "x", Samples: 4, PrimarySuccessRate: 1, CandidateSuccessRate: 0.75,
			Compared: 3, ToolSamples: 1, ToolAgreement: 0, RefusalAgreement: 2.0 / 3, MeanSimilarity: 0.5,
			LatencyP50Primary:   ms(2),  // lower middle of 1, 2, 3, 4
			LatencyP50Candidate: ms(20), // of 10, 20, 40: the failed call's time does not count
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

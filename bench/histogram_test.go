package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	before := map[float64]float64{0.0001: 1, 0.00025: 3, 0.0005: 3, 0.001: 3, inf: 3}
	after := map[float64]float64{0.0001: 1, 0.00025: 13, 0.0005: 43, 0.001: 53, inf: 53}
	// 50 new observations: 10 in (0.1, 0.25] ms, 30 in (0.25, 0.5],
	// 10 in (0.5, 1]. The median, the 25th, is 15/30 of the way through
	// the second of these.
	for _, tc := range []struct {
		q, want float64
	}{
		{0.5, 0.00025 + 0.00025*15/30},
		{0.2, 0.00025},                // the 10th: the end of the first
		{0.1, 0.0001 + 0.00015*5/10},  // the 5th
		{0.02, 0.0001 + 0.00015*1/10}, // the 1st
		{1, 0.001},
	} {
		if got := histogramQuantile(before, after, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("q %v: got %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := histogramQuantile(after, after, 0.5); got != 0 {
		t.Errorf("no observations: got %v, want 0", got)
	}
	// Past the highest finite bound: that bound.
	over := map[float64]float64{0.001: 3, inf: 13}
	if got := histogramQuantile(before, over, 0.9); got != 0.001 {
		t.Errorf("past the last bound: got %v, want 0.001", got)
	}
}

func TestHistogramFromMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Join([]string{
			"# HELP brightline_audit_journal_flush_seconds flushes",
			"# TYPE brightline_audit_journal_flush_seconds histogram",
			`brightline_audit_journal_flush_seconds_bucket{le="0.00025"} 7`,
			`brightline_audit_journal_flush_seconds_bucket{le="0.0005"} 9`,
			`brightline_audit_journal_flush_seconds_bucket{le="+Inf"} 10`,
			`brightline_audit_journal_flush_seconds_sum 0.004`,
			`brightline_audit_journal_flush_seconds_count 10`,
			`brightline_audit_append_seconds_bucket{le="0.0005"} 99`,
		}, "\n") + "\n"))
	}))
	defer srv.Close()
	e := &env{gwAddr: strings.TrimPrefix(srv.URL, "http://")}
	h, err := e.histogram(srv.Client(), flushHistogram)
	if err != nil {
		t.Fatal(err)
	}
	want := map[float64]float64{0.00025: 7, 0.0005: 9, math.Inf(1): 10}
	if len(h) != len(want) {
		t.Fatalf("got %v, want %v", h, want)
	}
	for b, n := range want {
		if h[b] != n {
			t.Errorf("bucket %v: got %v, want %v", b, h[b], n)
		}
	}
}

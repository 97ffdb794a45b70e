package detect

import (
	"strings"
	"testing"
)

// proseFiller is ordinary text with no identifiers, so that the benchmark
// input is mostly prose as real traffic is.
const proseFiller = "The committee reviewed the quarterly maintenance schedule and agreed that " +
	"the remaining inspections would be completed before the end of the month. " +
	"Several members asked for clearer guidance on how requests are prioritised, " +
	"and the chair promised a written summary by Friday.\n"

// warm loads the gazetteer and compiles the phone metadata, which Find
// does once, on its first call, so that a benchmark measures the steady
// state.
func warm() { Find("Maria Garcia, (212) 555-0147") }

// benchText returns about size bytes of mixed text: generated documents
// with identifiers, logistics negatives and plain prose, interleaved.
func benchText(tb testing.TB, size int) string {
	negatives := strings.Join(readNegatives(tb), "\n") + "\n"
	docs := corpus(7, 200)
	var b strings.Builder
	for k := 0; b.Len() < size; k++ {
		b.WriteString(docs[k%len(docs)].Text)
		b.WriteString(negatives)
		for range 6 {
			b.WriteString(proseFiller)
		}
	}
	return b.String()
}

func BenchmarkFind(b *testing.B) {
	text := benchText(b, 1<<20)
	b.SetBytes(int64(len(text)))
	warm()
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(Find(text))
	}
	b.ReportMetric(float64(n), "findings/op")
}

// BenchmarkAnalyze is Find plus subject linking: what the gateway runs on
// every request.
func BenchmarkAnalyze(b *testing.B) {
	text := benchText(b, 1<<20)
	b.SetBytes(int64(len(text)))
	warm()
	b.ResetTimer()
	var n int
	for b.Loop() {
		a := Analyze(text)
		n = len(a.Subjects)
	}
	b.ReportMetric(float64(n), "subjects/op")
}

// BenchmarkFindCorpus2 runs Find over the hand-written tune documents
// (tables, JSON, lists, narratives in every case) interleaved with prose,
// the kind of text the structure pass and case-insensitive names work on.
func BenchmarkFindCorpus2(b *testing.B) {
	docs := loadCorpus2(b, "tune")
	var sb strings.Builder
	for k := 0; sb.Len() < 1<<20; k++ {
		sb.WriteString(docs[k%len(docs)].Text)
		sb.WriteString(proseFiller)
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	warm()
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(Find(text))
	}
	b.ReportMetric(float64(n), "findings/op")
}

// BenchmarkAnalyze2KB is the cost of inspecting one typical request: about
// 2 KB of mixed text (a record or two with identifiers, and prose), cut at
// a line end.
func BenchmarkAnalyze2KB(b *testing.B) {
	text := benchText(b, 1<<20)
	if k := strings.LastIndexByte(text[:2048], '\n'); k > 0 {
		text = text[:k+1]
	}
	b.SetBytes(int64(len(text)))
	warm()
	b.ResetTimer()
	var n int
	for b.Loop() {
		a := Analyze(text)
		n = len(a.Findings)
	}
	b.ReportMetric(float64(n), "findings/op")
}

package scan

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchTreeSize is the size of the generated source tree the scan
// benchmarks run over.
const benchTreeSize = 100 << 20

var (
	benchOnce  sync.Once
	benchDir   string
	benchBytes int64
	benchErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// Lines that source files are made of: ordinary code in several languages,
// with words that share prefixes with the anchors ("anthro", "clause",
// "sk-") so the prefilter does real work. About one file in 40 gets a
// vendor line.
var benchLines = []string{
	"\tif err != nil {\n\t\treturn fmt.Errorf(\"couldn't read config %s: %w\", name, err)\n\t}\n",
	"def handle_request(self, request, *args, **kwargs):\n",
	"        return self.client.get(url, params={\"page\": page, \"limit\": limit})\n",
	"const result = await fetch(`${baseUrl}/v1/items?cursor=${cursor}`, { headers });\n",
	"import { useState, useEffect } from 'react';\n",
	"public static final String DEFAULT_CLAUSE = \"WHERE deleted_at IS NULL\";\n",
	"    for (int i = 0; i < items.size(); i++) { total += items.get(i).getPrice(); }\n",
	"// The anthropology module computes sk-score for each claus in the dataset.\n",
	"    logger.info(\"processed %d records in %.2fs\", count, elapsed)\n",
	"\tresp, err := http.DefaultClient.Do(req.WithContext(ctx))\n",
	"  resource_group_name = azurerm_resource_group.main.name\n",
	"type Config struct {\n\tAddr string `yaml:\"addr\"`\n\tTimeout time.Duration `yaml:\"timeout\"`\n}\n",
	"        raise ValueError(f\"unexpected token {tok!r} at line {lineno}\")\n",
	"export function formatDate(d: Date): string { return d.toISOString().slice(0, 10); }\n",
	"    @Override public int hashCode() { return Objects.hash(id, name, createdAt); }\n",
	"\n",
}

var benchHits = []string{
	"import anthropic\n",
	"const client = new Anthropic({ apiKey: process.env.ANTHROPIC_API_KEY });\n",
	"\tModel: anthropic.ModelClaude3_7SonnetLatest,\n",
	"    model=\"claude-sonnet-4-5-20250929\",\n",
	"  url = \"https://api.anthropic.com/v1/messages\"\n",
}

var benchExts = []string{".go", ".py", ".ts", ".java", ".tf", ".js"}

// benchTree generates the tree once per test binary run.
func benchTree(b *testing.B) (string, int64) {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "scanbench")
		if benchErr != nil {
			return
		}
		r := rand.New(rand.NewPCG(7, 11))
		var buf bytes.Buffer
		for i := 0; benchBytes < benchTreeSize; i++ {
			buf.Reset()
			size := 4<<10 + r.IntN(40<<10)
			for buf.Len() < size {
				buf.WriteString(benchLines[r.IntN(len(benchLines))])
			}
			if i%40 == 0 {
				buf.WriteString(benchHits[r.IntN(len(benchHits))])
			}
			dir := filepath.Join(benchDir, fmt.Sprintf("pkg%03d", i/50), fmt.Sprintf("sub%d", i%5))
			if benchErr = os.MkdirAll(dir, 0o755); benchErr != nil {
				return
			}
			name := filepath.Join(dir, fmt.Sprintf("file%05d%s", i, benchExts[i%len(benchExts)]))
			if benchErr = os.WriteFile(name, buf.Bytes(), 0o644); benchErr != nil {
				return
			}
			benchBytes += int64(buf.Len())
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir, benchBytes
}

// BenchmarkScan scans the generated tree; MB/s is the scan rate from a warm
// page cache (the tree was just written, and the first iteration warms it).
func BenchmarkScan(b *testing.B) {
	dir, size := benchTree(b)
	for _, vendor := range []string{"anthropic", "openai"} {
		b.Run(vendor, func(b *testing.B) {
			p, err := LoadProfile(vendor)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Scan(context.Background(), dir, p, Options{}); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				if _, err := Scan(context.Background(), dir, p, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGrep times `grep -rIl` over the same tree, for the ratio the
// issue asks about. It searches the profile's anchors as fixed strings,
// case-insensitively: the same literal prefilter work the scanner does
// (but none of its parsing, regexps or reporting).
func BenchmarkGrep(b *testing.B) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		b.Skip("no grep")
	}
	dir, size := benchTree(b)
	p, err := LoadProfile("anthropic")
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"-rIl", "-i", "-F"}
	for _, a := range newSourceScanner(p).anchors() {
		args = append(args, "-e", a)
	}
	args = append(args, dir)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		out, err := exec.Command(grep, args...).Output()
		if err != nil {
			b.Fatal(err)
		}
		if len(out) == 0 {
			b.Fatal("grep found nothing")
		}
	}
}

// BenchmarkGrepOneWord is grep at its fastest: one literal, case-sensitive.
func BenchmarkGrepOneWord(b *testing.B) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		b.Skip("no grep")
	}
	dir, size := benchTree(b)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if err := exec.Command(grep, "-rIl", "anthropic", dir).Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSourceScan is the per-file hot path on one in-memory file with no
// vendor lines: the prefilter alone.
func BenchmarkSourceScan(b *testing.B) {
	var buf strings.Builder
	for i := 0; buf.Len() < 1<<20; i++ {
		buf.WriteString(benchLines[i%len(benchLines)])
	}
	data := []byte(buf.String())
	for _, vendor := range Vendors() {
		b.Run(vendor, func(b *testing.B) {
			p, err := LoadProfile(vendor)
			if err != nil {
				b.Fatal(err)
			}
			s := newSourceScanner(p)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if fs := s.scan("x.go", data, "", nil); len(fs) != 0 {
					b.Fatalf("got %d findings: %v", len(fs), fs)
				}
			}
		})
	}
}

// BenchmarkParsePackageLock parses a large package-lock.json.
func BenchmarkParsePackageLock(b *testing.B) {
	var buf strings.Builder
	buf.WriteString("{\n  \"name\": \"x\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"x\"},\n")
	for i := range 5000 {
		fmt.Fprintf(&buf, "    \"node_modules/pkg-%d\": {\n      \"version\": \"1.0.%d\",\n      \"resolved\": \"https://registry.npmjs.org/pkg-%d/-/pkg-%d-1.0.%d.tgz\",\n      \"integrity\": \"sha512-AAAA\"\n    },\n", i, i, i, i, i)
	}
	buf.WriteString("    \"node_modules/@anthropic-ai/sdk\": {\"version\": \"0.30.1\"}\n  }\n}\n")
	data := []byte(buf.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if deps := parsePackageLock(data); len(deps) != 5001 {
			b.Fatalf("got %d deps", len(deps))
		}
	}
}

// BenchmarkScanVsGrep alternates a scan and `grep -rIl` (the profile's
// anchors, fixed strings, case-insensitive) over the same tree and reports
// the ratio of their times as "scan/grep": below 1 the scan is faster. Run
// side by side, the two see the same machine load.
func BenchmarkScanVsGrep(b *testing.B) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		b.Skip("no grep")
	}
	dir, size := benchTree(b)
	p, err := LoadProfile("anthropic")
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"-rIl", "-i", "-F"}
	for _, a := range newSourceScanner(p).anchors() {
		args = append(args, "-e", a)
	}
	args = append(args, dir)
	var scanTime, grepTime time.Duration
	b.SetBytes(size)
	for b.Loop() {
		t0 := time.Now()
		if _, err := Scan(context.Background(), dir, p, Options{}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := exec.Command(grep, args...).Run(); err != nil {
			b.Fatal(err)
		}
		scanTime += t1.Sub(t0)
		grepTime += time.Since(t1)
	}
	b.ReportMetric(float64(scanTime)/float64(grepTime), "scan/grep")
	b.ReportMetric(float64(size)*float64(b.N)/scanTime.Seconds()/1e6, "scan-MB/s")
	b.ReportMetric(float64(size)*float64(b.N)/grepTime.Seconds()/1e6, "grep-MB/s")
}

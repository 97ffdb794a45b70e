package auditlog

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threadsAt returns the IDs of this process's threads whose nice value
// is nice, from /proc/self/task/*/stat (field 19).
func threadsAt(t *testing.T, nice int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var tids []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended meanwhile
		}
		// The command name, in parentheses, may hold spaces: fields
		// start after its closing parenthesis, at field 3.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if n, err := strconv.Atoi(f[19-3]); err == nil && n == nice {
			tids = append(tids, filepath.Base(filepath.Dir(p)))
		}
	}
	return tids
}

// waitThreadsAt waits until the threads at nice are want. A goroutine
// that ends locked to the main thread does not end it, as it ends any
// other, but parks it for good: after the integrator ran there, the main
// thread stays at its priority and runs nothing more, so unless keepMain
// it is left out.
func waitThreadsAt(t *testing.T, nice int, want []string, keepMain bool) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	main := strconv.Itoa(os.Getpid())
	for {
		got := threadsAt(t, nice)
		if !keepMain {
			got = slices.DeleteFunc(got, func(tid string) bool { return tid == main })
		}
		if slices.Equal(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads at nice %d: %v, want %v", nice, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The integrator runs on one thread of its own at integratorNice, which
// ends with it: no other goroutine ever runs at that priority.
func TestIntegratorThreadPriority(t *testing.T) {
	before := threadsAt(t, integratorNice) // the main thread too, if an earlier log's integrator parked it
	l := openTestLog(t, nil)
	deadline := time.Now().Add(10 * time.Second)
	var integrator string
	for integrator == "" {
		for _, tid := range threadsAt(t, integratorNice) {
			if !slices.Contains(before, tid) {
				integrator = tid
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no thread at the integrator's priority")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Work goes on at the process's priority.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if p, err := threadPriority(); err != nil || p != 0 {
		t.Errorf("a request's thread: nice %d (%v), want 0", p, err)
	}
	for i := range 50 {
		if _, err := l.Append(t.Context(), decision(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitThreadsAt(t, integratorNice, slices.Sorted(slices.Values(append(slices.Clone(before), integrator))), true)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	main := strconv.Itoa(os.Getpid())
	waitThreadsAt(t, integratorNice, slices.DeleteFunc(before, func(tid string) bool { return tid == main }), false)
}

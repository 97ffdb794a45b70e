package auditlog

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/store/sqlite"
)

// TestCrashChild is the child half of TestCrashSafety: it appends from
// several goroutines until killed, printing "ack INDEX REQUEST_ID" for
// every acknowledged append.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("AUDITLOG_CHILD")
	if dir == "" {
		t.Skip("run by TestCrashSafety")
	}
	ctx := context.Background()
	s, _, _, err := LoadOrCreateKey(filepath.Join(dir, "log.key"), testOrigin)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "brightline.db"))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	l, err := Open(ctx, Config{Dir: filepath.Join(dir, "log"), Signer: s, Index: db, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				e := decision(i)
				e.RequestID = fmt.Sprintf("req_%d_%d_%d", os.Getpid(), w, i)
				r, err := l.Append(ctx, e, nil)
				mu.Lock()
				if err != nil {
					fmt.Fprintln(out, "error", err)
				} else {
					fmt.Fprintf(out, "ack %d %s\n", r.Index, e.RequestID)
				}
				out.Flush() // the ack reaches the parent before the next append
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashSafety kills a process appending under load with SIGKILL,
// reopens the log, and checks that it verifies and holds every entry the
// process acknowledged.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	_, vkey := newKey(t, dir)

	for round := range 2 { // the second round crashes a reopened log
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), "AUDITLOG_CHILD="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[uint64]string{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && len(acked) < 400 {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "ack" {
				idx, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				acked[idx] = f[2]
			} else if len(f) > 0 && f[0] == "error" {
				t.Logf("child: %s", sc.Text())
			}
		}
		// Kill while appends are in flight; acks still in the pipe count too.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "ack" {
				idx, _ := strconv.ParseUint(f[1], 10, 64)
				acked[idx] = f[2]
			}
		}
		cmd.Wait()
		if len(acked) < 400 {
			t.Fatalf("round %d: child acknowledged only %d appends", round, len(acked))
		}

		// Reopen in the same directory, as a restarted gateway would.
		s, _, _, err := LoadOrCreateKey(filepath.Join(dir, "log.key"), testOrigin)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "brightline.db"))
		if err != nil {
			t.Fatal(err)
		}
		l, err := Open(context.Background(), Config{Dir: filepath.Join(dir, "log"), Signer: s, Index: db, CheckpointInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var maxIdx uint64
		for i := range acked {
			maxIdx = max(maxIdx, i)
		}
		pol, _ := auditverify.NewPolicy(vkey, nil, 0)
		src := auditverify.NewSource(filepath.Join(dir, "log"), nil, nil)
		c := waitCheckpoint(t, src, pol, maxIdx+1)
		found := 0
		err = auditverify.VerifyTree(context.Background(), src, c, true, func(i uint64, b []byte) error {
			rid, ok := acked[i]
			if !ok {
				return nil // sequenced but not acknowledged: allowed
			}
			e, err := ParseEntry(b)
			if err != nil {
				return err
			}
			if e.RequestID != rid {
				return fmt.Errorf("got request %s, acknowledged as %s", e.RequestID, rid)
			}
			found++
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: log doesn't verify after SIGKILL: %v", round, err)
		}
		if found != len(acked) {
			t.Errorf("round %d: found %d of %d acknowledged entries in the log", round, found, len(acked))
		}
		// Every acknowledged entry is in the local index too.
		for i, rid := range acked {
			recs, err := db.AuditEntries(context.Background(), rid)
			if err != nil || len(recs) != 1 || recs[0].LogIndex != i {
				t.Errorf("round %d: index of acknowledged %s: got %+v, %v; want log index %d", round, rid, recs, err, i)
				break
			}
		}
		// The reopened log keeps appending after the crash.
		r, err := l.Append(context.Background(), decision(1), nil)
		if err != nil || r.Index < maxIdx {
			t.Errorf("round %d: append after restart: got %d, %v; want an index after %d", round, r.Index, err, maxIdx)
		}
		if err := l.Close(); err != nil {
			t.Error(err)
		}
		db.Close()
	}
}

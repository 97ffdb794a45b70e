package bundle

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/brightline/brightline/internal/policy"
)

// denyModel returns a policy that denies requests for model.
func denyModel(model string) []byte {
	return []byte("rules:\n  - id: deny-" + model + "\n    stage: request\n    when: request.model == \"" + model +
		"\"\n    action: deny\n    message: no.\n")
}

// TestWatchPolls checks, in a bubble where time is fake, that Watch polls
// the files once per interval, loads a change at the second poll that
// sees it, and reloads at once on SIGHUP. An unsigned file keeps the
// store out of it; the signed cases are in cmd/brightline's tests.
func TestWatchPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		write := func(model string) {
			t.Helper()
			if err := os.WriteFile(path, denyModel(model), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("one")
		events := make(chan Event, 10)
		var polls atomic.Int64
		s := &Source{
			Config:  Config{File: path, Unsigned: true, PollInterval: time.Second},
			Log:     slog.New(slog.DiscardHandler),
			OnEvent: func(ev Event) { events <- ev },
			polled:  func() { polls.Add(1) },
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if ev := <-events; ev.Result != "activated" || ev.Hash != policy.HashSource(denyModel("one")) {
			t.Fatalf("got event %+v, want activation of the file", ev)
		}
		noEvent := func() {
			t.Helper()
			select {
			case ev := <-events:
				t.Fatalf("got event %+v, want none", ev)
			default:
			}
		}

		ctx, cancel := context.WithCancel(t.Context())
		hup := make(chan os.Signal)
		done := make(chan struct{})
		go func() { s.Watch(ctx, hup); close(done) }()

		// Ten intervals with the files unchanged: ten polls, nothing loaded.
		time.Sleep(10*time.Second + time.Second/2)
		synctest.Wait()
		if got := polls.Load(); got != 10 {
			t.Errorf("got %d polls in 10 intervals, want 10", got)
		}
		noEvent()

		// A change is seen by the next poll and loaded by the one after.
		write("two")
		time.Sleep(time.Second)
		synctest.Wait()
		noEvent()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := polls.Load(); got != 12 {
			t.Errorf("got %d polls in 12 intervals, want 12", got)
		}
		select {
		case ev := <-events:
			if ev.Result != "activated" || ev.Hash != policy.HashSource(denyModel("two")) {
				t.Fatalf("got event %+v, want activation of the changed file", ev)
			}
		default:
			t.Fatal("the change was not loaded at the second poll that saw it")
		}

		// SIGHUP loads at once, between polls; with nothing changed it
		// reports nothing.
		hup <- syscall.SIGHUP
		synctest.Wait()
		noEvent()
		write("three")
		hup <- syscall.SIGHUP
		synctest.Wait()
		select {
		case ev := <-events:
			if ev.Result != "activated" || ev.Hash != policy.HashSource(denyModel("three")) {
				t.Fatalf("got event %+v, want activation on SIGHUP", ev)
			}
		default:
			t.Fatal("SIGHUP didn't load the changed file")
		}
		if got := polls.Load(); got != 12 {
			t.Errorf("got %d polls, want still 12: no time passed", got)
		}
		if got, want := s.Current().Hash(), policy.HashSource(denyModel("three")); got != want {
			t.Errorf("got policy %s in force, want %s", got, want)
		}

		cancel()
		<-done
	})
}

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/subjects"
)

// subjectKeyFile holds the deployment's subject-key secret: 32 random
// bytes under which every subject key is an HMAC. Anyone holding it can
// test guesses of identifiers against the stored sketches, so it is kept
// 0600 beside the database, never in it.
const subjectKeyFile = "subjects.key"

// readSubjectSecret reads the deployment's subject secret from path. A
// missing file is an error wrapping fs.ErrNotExist.
func readSubjectSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the subject key: %w", err)
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("subject key %s: got %d bytes, want 32; restore it from backup (a new key would reset every counter)", path, len(b))
	}
	return b, nil
}

// loadSubjectSecret reads the deployment's subject secret from dataDir,
// creating it if there is none. created reports that it was made now.
func loadSubjectSecret(dataDir string) (secret []byte, created bool, err error) {
	path := filepath.Join(dataDir, subjectKeyFile)
	b, err := readSubjectSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, false, err
	}
	b = make([]byte, 32)
	rand.Read(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't create the subject key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("couldn't write the subject key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("couldn't write the subject key: %w", err)
	}
	return b, true, f.Close()
}

// surveillanceState is the safeguard's state and its persistence.
type surveillanceState struct {
	*safeguard.Surveillance
	db store.SubjectStates
	// sync shares the counters with the other replicas when db is a
	// store.SubjectMerger (PostgreSQL); nil for SQLite, whose one
	// gateway saves its counters every saveInterval instead.
	sync         *subjects.Sync
	saveInterval time.Duration
	log          *slog.Logger
}

// openSurveillance loads the subject secret, which establishKeys made or
// checked, and the persisted counters. A counter that cannot be restored
// stops the gateway: starting with the counters at zero would let a
// restart reset the safeguard.
func openSurveillance(ctx context.Context, cfg *Config, db store.SubjectStates, log *slog.Logger) (*surveillanceState, error) {
	path := filepath.Join(cfg.DataDir, subjectKeyFile)
	secret, err := readSubjectSecret(path)
	if err != nil {
		return nil, sharedKeyError("the subject-key secret", path, err)
	}
	s := &surveillanceState{
		Surveillance: &safeguard.Surveillance{
			Keyer:    subjects.NewKeyer(secret),
			Counter:  &subjects.Counter{},
			Profiles: &subjects.Profiles{Capacity: cfg.Surveillance.ProfileCapacity},
			// Request windows are kept in memory only: a restart
			// empties counters.requests_1h.
			Requests: &subjects.Requests{},
		},
		db:           db,
		saveInterval: cfg.Surveillance.SaveInterval,
		log:          log,
	}
	if m, ok := db.(store.SubjectMerger); ok {
		// Replicas share one state: the first round reads all of it,
		// and later rounds merge this replica's observations in.
		s.sync = &subjects.Sync{Counter: s.Counter, Profiles: s.Profiles, Store: m, Interval: cfg.Store.MergeInterval, OnError: s.logSyncError()}
		if err := s.sync.Round(ctx); err != nil {
			return nil, fmt.Errorf("couldn't restore the surveillance counters: %w", err)
		}
		log.Info("sharing the surveillance counters with the other replicas", "principals", len(s.Counter.Principals()), "interval", cmp.Or(s.sync.Interval, subjects.DefaultSyncInterval))
		return s, nil
	}
	states, err := db.SubjectStates(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		switch st.Kind {
		case store.SubjectWindows:
			err = s.Counter.UnmarshalPrincipal(st.PrincipalID, st.Data)
		case store.SubjectProfiles:
			err = s.Profiles.UnmarshalPrincipal(st.PrincipalID, st.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("couldn't restore the surveillance counters of %s: %w", st.PrincipalID, err)
		}
	}
	if len(states) > 0 {
		log.Info("restored surveillance counters", "states", len(states))
	}
	return s, nil
}

// Run keeps the counters in the store until ctx is done: with a merging
// store, a sync round every sync interval (see subjects.Sync); otherwise a
// save every save interval. Failures are logged and retried; Run returns
// nil. Call save once more after Run returns, at shutdown.
func (s *surveillanceState) Run(ctx context.Context) error {
	if s.sync == nil {
		s.every(ctx, s.saveInterval, func() {
			if err := s.save(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("couldn't save the surveillance counters; will retry", "err", err)
			}
		})
		return nil
	}
	var g errgroup.Group
	g.Go(func() error { return s.sync.Run(ctx) })
	g.Go(func() error {
		s.every(ctx, s.saveInterval, s.sweep)
		return nil
	})
	return g.Wait()
}

// every calls fn every d until ctx is done.
func (s *surveillanceState) every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fn()
		case <-ctx.Done():
			return
		}
	}
}

// logSyncError returns the Sync's OnError: a round fails every interval
// while the store is down, so it logs the first failure and then at most
// one a minute, with the count.
func (s *surveillanceState) logSyncError() func(error) {
	var last time.Time
	failed := 0
	return func(err error) {
		failed++
		if now := time.Now(); now.Sub(last) >= time.Minute {
			s.log.Warn("couldn't share the surveillance counters with the other replicas; each replica counts alone until the store answers", "err", err, "failed_rounds", failed)
			last, failed = now, 0
		}
	}
}

// sweep forgets principals with nothing left in any window.
func (s *surveillanceState) sweep() {
	s.Counter.Sweep()
	s.Profiles.Sweep()
	s.Requests.Sweep(time.Now())
	if s.sync != nil {
		s.sync.Forget()
	}
}

// save writes every principal's and organisation's counters to the
// store, and forgets principals with nothing left in any window. An
// organisation's windows are kept under subjects.OrgID. With a merging
// store it runs a sync round, which writes what changed since the last.
func (s *surveillanceState) save(ctx context.Context) error {
	s.sweep()
	if s.sync != nil {
		return s.sync.Round(ctx)
	}
	var states []store.SubjectState
	for _, id := range s.Counter.Principals() {
		b, err := s.Counter.MarshalPrincipal(id)
		if err != nil {
			return err
		}
		if b != nil {
			states = append(states, store.SubjectState{PrincipalID: id, Kind: store.SubjectWindows, Data: b})
		}
	}
	for _, id := range s.Profiles.Principals() {
		states = append(states, store.SubjectState{PrincipalID: id, Kind: store.SubjectProfiles, Data: s.Profiles.MarshalPrincipal(id)})
	}
	if len(states) == 0 {
		return nil
	}
	return s.db.SaveSubjectStates(ctx, states)
}

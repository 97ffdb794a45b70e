package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"k8s.io/klog/v2"

	vendor "github.com/brightline/brightline/auditverify/provider"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/web"
)

func runServe(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("serve", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	allowUnsigned := fs.Bool("allow-unsigned-policy", false, "allow policy.unsigned (development only; refused once a trust root is pinned)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: brightline serve [-config FILE] [-allow-unsigned-policy]")
		return errUsage
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		return err
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level)) // validated by loadConfig
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	if limit, ok := memoryLimit(cfg, e.getenv); ok {
		debug.SetMemoryLimit(limit)
		log.Info("soft memory limit set from limits.body_bytes_in_flight; GOMEMLIMIT overrides it", "bytes", limit)
	}
	// Tessera logs through klog; send that to the same JSON log.
	klog.SetSlogLogger(log.With("component", "tessera"))

	db, err := openDataStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := establishKeys(ctx, cfg, db, log); err != nil {
		return err
	}

	metrics := gateway.NewMetrics()
	router, err := buildRouter(cfg, metrics)
	if err != nil {
		return err
	}
	for _, p := range cfg.Providers {
		if p.Type == "simulated" {
			msg := "serving from the SIMULATED provider: answers are canned echoes, not a real model; set ANTHROPIC_API_KEY or OPENAI_API_KEY, or use -config"
			for _, rt := range cfg.Routes {
				if rt.Model == "*" && len(rt.Targets) > 0 && rt.Targets[0].Provider == p.Name {
					msg += `; every model name (route "*") is answered by it, so a client asking for claude-... or gpt-... gets simulated answers marked [simulated]`
					break
				}
			}
			log.Warn(msg, "provider", p.Name)
		}
	}
	n, err := db.CountActiveKeys(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		log.Warn("no API keys yet, so every request will get 401; create one with: brightline keys create -name NAME", "data_dir", cfg.DataDir)
	}

	// The audit log opens first: every policy activation, decision and
	// approval from here on is recorded in it.
	auditLog, logVKey, err := openAudit(ctx, cfg, db, metrics.Registerer(), log)
	if err != nil {
		return err
	}
	defer auditLog.Close()
	recordEntry := func(ctx context.Context, e auditlog.Entry) error {
		return appendWaiting(ctx, auditLog, e)
	}

	// --- policy and tools ---
	// The trust root first: the store must not be behind the log, and the
	// configured trust set must be the pinned one (or a signed rotation of
	// it). Then a policy file that fails its checks stops the gateway
	// here; later reloads that fail keep the policy in force.
	anchor, err := auditlog.ReadAnchor(ctx, filepath.Join(cfg.DataDir, auditlog.DirName), logVKey)
	if err != nil {
		return err
	}
	plan, err := establishTrust(ctx, &cfg.Policy, db, anchor, *allowUnsigned, recordEntry)
	if err != nil {
		return err
	}
	policySrc, watchPolicy, err := servePolicy(ctx, cfg, db, plan, log, metrics, recordEntry)
	if err != nil {
		return err
	}
	metrics.WatchPolicy(policySrc)
	tools, err := cfg.toolEffects()
	if err != nil {
		return err
	}
	// SIGHUP reloads the policy; it must never stop the server, so it has
	// its own channel rather than joining the shutdown signals.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// --- end policy and tools ---

	surv, err := openSurveillance(ctx, cfg, db, log)
	if err != nil {
		return err
	}

	auth := gateway.StoreAuthenticator(db)
	if cfg.Auth.CacheTTL > 0 {
		auth = gateway.CacheAuthenticator(auth, cfg.Auth.CacheTTL, 100_000)
	}
	approvals, err := openApprovals(cfg, db, auditLog, log)
	if err != nil {
		return err
	}
	mirror, err := openShadow(cfg, db, metrics.Registerer(), log)
	if err != nil {
		return err
	}
	if mirror != nil {
		defer mirror.Close() // before the store closes (deferred earlier)
	}
	// The traffic inventory: which provider and model each key's requests
	// used, aggregated in memory and written every minute.
	usage := exposure.NewRecorder(db, nil)
	ptypes := providerTypes(cfg)
	finished := func(f gateway.Finished) {
		usage.Record(exposure.Use{
			PrincipalID: f.Principal.ID, PrincipalName: f.Principal.Name, Route: f.Route,
			Provider: f.Served.Provider, ProviderType: ptypes[f.Served.Provider], Model: f.Served.Model,
			InputTokens: int64(f.Usage.InputTokens), OutputTokens: int64(f.Usage.OutputTokens),
			Features: exposure.FeaturesOf(f.Request),
		})
	}
	var used store.UsageBatcher // last-used times, written in batches
	gw := gateway.New(gateway.Config{
		MaxRequestBytes: cfg.Limits.MaxRequestBytes,
		Limits: gateway.Limits{
			BodyReadTimeout:     cfg.Limits.BodyReadTimeout,
			KeyRequestsInFlight: cfg.Limits.KeyRequestsInFlight,
			KeyBytesInFlight:    cfg.Limits.KeyBytesInFlight,
			BodyBytesInFlight:   cfg.Limits.BodyBytesInFlight,
		},
		Logger:       log,
		Metrics:      metrics,
		Policy:       policySrc,
		Tools:        tools,
		KeyUsed:      used.Mark,
		Surveillance: surv.Surveillance,
		Audit:        auditLog,
		AuditStatus: func() gateway.AuditStatus {
			st := auditLog.Status()
			return gateway.AuditStatus{Size: st.Size, PublishedSize: st.PublishedSize, JournalSize: st.JournalSize, Lag: st.Lag,
				LagSeconds: st.LagAge.Seconds(), Degraded: st.Degraded, LastError: st.LastError, LastErrorAt: st.LastErrorAt}
		},
		Approvals: approvals,
		Finished:  finished,
		Mirror:    mirror,
	}, auth, router)

	gw.Handle("/brightline/v1/approvals", approvals.Handler(gw.Principal))
	gw.Handle("/brightline/v1/approvals/", approvals.Handler(gw.Principal))
	gw.Handle("/ui/", web.Handler(approvals, gw.Principal))
	gw.Handle("/log/", auditLog.Handler(isAuditor(gw)))
	routes := routeInfo(cfg)
	gw.Handle("/brightline/v1/exposure", exposure.Handler(db, routes, gw.Principal))
	exposurePage := web.ExposureHandler(db, routes, gw.Principal)
	gw.Handle("/ui/exposure", exposurePage)
	gw.Handle("/ui/exposure.css", exposurePage)
	mcp, err := openMCP(ctx, cfg, tools, surv.Surveillance, policySrc, approvals, gw, auditLog, log)
	if err != nil {
		return err
	}
	if mcp != nil {
		defer mcp.Close()
		gw.Handle("/mcp/", mcp.Handler())
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		// No ReadTimeout or WriteTimeout: streams may legitimately run for
		// minutes. The gateway sets a read deadline per request while it
		// reads the body (limits.body_read_timeout).
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	models := make([]string, 0)
	for _, r := range cfg.Routes {
		models = append(models, r.Model)
	}
	log.Info("brightline listening", "addr", "http://"+ln.Addr().String(), "data_dir", cfg.DataDir, "models", models, "version", version())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { watchPolicy(gctx, hup); return nil })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down: draining in-flight requests", "timeout", cfg.Limits.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(sctx)
		if errors.Is(err, context.DeadlineExceeded) {
			// Time is up: end the remaining streams with an error event in
			// their dialect, give them a moment to be written, then close.
			log.Warn("drain deadline passed; ending remaining streams")
			gw.Abort()
			actx, acancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer acancel()
			if err := srv.Shutdown(actx); err != nil {
				srv.Close()
			}
			return nil
		}
		return err
	})
	g.Go(func() error {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-gctx.Done():
				return nil
			}
			if err := used.Flush(gctx, db); err != nil {
				log.Warn("couldn't record when keys were last used; will retry", "err", err)
			}
		}
	})
	g.Go(func() error {
		if err := usage.Run(gctx, time.Minute); err != nil {
			log.Warn("couldn't save the traffic inventory", "err", err)
		}
		return nil
	})
	g.Go(func() error {
		// Request bodies kept to open commitments expire after
		// audit.body_retention.
		auditLog.RunBodySweeper(gctx, 10*time.Minute)
		return nil
	})
	g.Go(func() error {
		if err := approvals.RunSweeper(gctx, 5*time.Second); err != nil && gctx.Err() == nil {
			log.Error("approval sweeper stopped", "err", err)
		}
		return nil
	})
	g.Go(func() error {
		// SQLite: saves every surveillance.save_interval. PostgreSQL:
		// merges with the other replicas every store.merge_interval.
		if err := surv.Run(gctx); err != nil && gctx.Err() == nil {
			return fmt.Errorf("surveillance counters: %w", err)
		}
		return nil
	})
	err = g.Wait()
	// Requests drained above have been counted since the last save.
	if serr := surv.save(context.Background()); serr != nil {
		log.Error("couldn't save the surveillance counters at shutdown", "err", serr)
	}
	// Requests drained above may have marked keys since the last tick.
	if ferr := used.Flush(context.Background(), db); ferr != nil {
		log.Warn("couldn't record when keys were last used", "err", ferr)
	}
	log.Info("stopped")
	return err
}

// buildRouter turns the providers and routes of cfg into a router.
func buildRouter(cfg *Config, obs provider.Observer) (*provider.Router, error) {
	providers, err := buildProviders(cfg)
	if err != nil {
		return nil, err
	}
	r := &provider.Router{
		Retry: provider.RetryPolicy{
			MaxAttempts:    cfg.Retry.MaxAttempts,
			InitialBackoff: cfg.Retry.InitialBackoff,
			MaxBackoff:     cfg.Retry.MaxBackoff,
			MaxRetryAfter:  cfg.Retry.MaxRetryAfter,
		},
		Breaker: provider.BreakerPolicy{
			FailureThreshold: cfg.Breaker.FailureThreshold,
			Cooldown:         cfg.Breaker.Cooldown,
		},
		Observer: obs,
	}
	for _, rc := range cfg.Routes {
		route := provider.Route{Model: rc.Model}
		for _, t := range rc.Targets {
			route.Targets = append(route.Targets, provider.Target{Provider: providers[t.Provider], Model: t.Model, Weight: t.Weight})
		}
		r.Routes = append(r.Routes, route)
	}
	return r, nil
}

// buildProviders makes one provider for each of cfg's providers, by name.
func buildProviders(cfg *Config) (map[string]provider.Provider, error) {
	providers := make(map[string]provider.Provider, len(cfg.Providers))
	for _, pc := range cfg.Providers {
		var p provider.Provider
		var err error
		switch pc.Type {
		case provider.KindBedrock:
			p, err = provider.NewBedrock(context.Background(), provider.BedrockConfig{
				Name:              pc.Name,
				Region:            pc.Region,
				BaseURL:           pc.BaseURL,
				AccessKeyID:       pc.AccessKeyID,
				SecretAccessKey:   pc.SecretAccessKey,
				SessionToken:      pc.SessionToken,
				Headers:           pc.Headers,
				Timeout:           pc.Timeout,
				StreamIdleTimeout: pc.StreamIdleTimeout,
			})
		case provider.KindVertex:
			p, err = provider.NewVertex(context.Background(), provider.VertexConfig{
				Name:              pc.Name,
				Project:           pc.Project,
				Region:            pc.Region,
				BaseURL:           pc.BaseURL,
				CredentialsFile:   pc.CredentialsFile,
				Headers:           pc.Headers,
				Timeout:           pc.Timeout,
				StreamIdleTimeout: pc.StreamIdleTimeout,
			})
		default:
			p, err = provider.New(provider.HTTPConfig{
				Name:              pc.Name,
				Kind:              pc.Type,
				BaseURL:           pc.BaseURL,
				APIKey:            pc.APIKey,
				Headers:           pc.Headers,
				Timeout:           pc.Timeout,
				StreamIdleTimeout: pc.StreamIdleTimeout,
			})
		}
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
		}
		if sim, ok := p.(*provider.Simulated); ok && pc.VerifyReceipts {
			if sim.Receipts, err = receiptChecker(cfg); err != nil {
				return nil, fmt.Errorf("provider %q: verify_receipts: %w", pc.Name, err)
			}
		}
		providers[pc.Name] = p
	}
	return providers, nil
}

// receiptChecker is the vendor's side of receipts upstream for the
// simulated provider: a verifier of this gateway's log key, which must
// exist (serve makes it before the providers).
func receiptChecker(cfg *Config) (provider.ReceiptChecker, error) {
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, auditlog.KeyFile))
	if err != nil {
		return nil, fmt.Errorf("couldn't read the audit log key (brightline init makes it): %w", err)
	}
	vkey, err := auditlog.VerifierKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, err
	}
	return &vendor.Verifier{VerifierKey: vkey}, nil
}

// memoryHeadroom is what the soft memory limit allows beyond the bodies in
// flight: decoded requests, answers being relayed, caches and counters.
const memoryHeadroom = 64 << 20

// memoryLimit is the soft memory limit serve sets (debug.SetMemoryLimit)
// unless GOMEMLIMIT is set: limits.body_bytes_in_flight plus headroom.
// Bodies are bounded by that budget, but the garbage collector would
// otherwise let the heap grow to twice the live size before collecting,
// so a flood of large bodies could take twice the budget.
func memoryLimit(cfg *Config, getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return cfg.Limits.BodyBytesInFlight + memoryHeadroom, true
}

// behindWait bounds how long a policy or trust entry waits for the audit
// log to catch up with its merge delay.
const behindWait = 30 * time.Second

// appendWaiting appends e, waiting up to behindWait while the log refuses
// appends because integration is behind its MMD. Requests are refused at
// once in that state; a policy activation or trust entry is not a
// request, and at a fleet's start no integrator may have been elected
// yet, so it waits rather than stop the replica. Any other error, or a
// log still behind after the wait, is returned: the entry is not recorded
// and what it records is not put in force.
func appendWaiting(ctx context.Context, l *auditlog.Log, e auditlog.Entry) error {
	ctx, cancel := context.WithTimeout(ctx, behindWait)
	defer cancel()
	for {
		_, err := l.Append(ctx, e, nil)
		if !errors.Is(err, auditlog.ErrBehind) {
			return err
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

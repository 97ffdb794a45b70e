package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"k8s.io/klog/v2"

	vendor "github.com/brightline/brightline/auditverify/provider"
	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/provider"
	"github.com/brightline/brightline/internal/shadow"
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
	log := serveLogger(cfg, e)

	db, err := openDataStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := establishKeys(ctx, cfg, db, log); err != nil {
		return err
	}
	s := &server{cfg: cfg, db: db, log: log, metrics: gateway.NewMetrics()}
	defer s.close()
	if err := s.open(ctx, *allowUnsigned); err != nil {
		return err
	}
	return s.run(ctx)
}

// serveLogger returns the JSON logger serve writes to stderr at
// log.level, sends Tessera's klog lines to it, and sets the soft memory
// limit (see memoryLimit) and the collector's pace (see gcPercent).
func serveLogger(cfg *Config, e *env) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level)) // validated by loadConfig
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	if limit, ok := memoryLimit(cfg, e.getenv); ok {
		debug.SetMemoryLimit(limit)
		log.Info("soft memory limit set from limits.body_bytes_in_flight; GOMEMLIMIT overrides it", "bytes", limit)
	}
	if pct, ok := gcPercent(e.getenv); ok {
		debug.SetGCPercent(pct)
	}
	if n, ok := maxProcs(e.getenv, runtime.GOMAXPROCS(0)); ok {
		runtime.GOMAXPROCS(n)
	}
	// Tessera logs through klog; send that to the same JSON log.
	logTesseraTo(log.With("component", "tessera"))
	return log
}

// tesseraLog is where klog, Tessera's logger, writes. klog's logger is a
// process global that klog reads without a lock, so it is set only once per
// process, to a forwardHandler; each serve run then points that at its own
// log (the latest run's wins, as a second klog.SetSlogLogger would, but
// without racing the first run's Tessera goroutines).
var tesseraLog struct {
	once sync.Once
	to   atomic.Pointer[slog.Handler]
}

// logTesseraTo sends Tessera's klog lines to log from now on.
func logTesseraTo(log *slog.Logger) {
	h := log.Handler()
	tesseraLog.to.Store(&h)
	tesseraLog.once.Do(func() { klog.SetSlogLogger(slog.New(forwardHandler{})) })
}

// forwardHandler passes each record to the handler tesseraLog.to holds at
// the time, with the attributes and groups added by WithAttrs and
// WithGroup, in order.
type forwardHandler struct{ with []handlerStep }

// handlerStep is one WithGroup (group set) or WithAttrs call.
type handlerStep struct {
	group string
	attrs []slog.Attr
}

func (f forwardHandler) handler() slog.Handler {
	h := *tesseraLog.to.Load()
	for _, s := range f.with {
		if s.group != "" {
			h = h.WithGroup(s.group)
		} else {
			h = h.WithAttrs(s.attrs)
		}
	}
	return h
}

// Enabled asks the current handler without the added attributes and
// groups, which don't change which levels it logs.
func (f forwardHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return (*tesseraLog.to.Load()).Enabled(ctx, l)
}

func (f forwardHandler) Handle(ctx context.Context, r slog.Record) error {
	return f.handler().Handle(ctx, r)
}

func (f forwardHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return f
	}
	return forwardHandler{append(slices.Clip(f.with), handlerStep{attrs: slices.Clone(attrs)})}
}

func (f forwardHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return f
	}
	return forwardHandler{append(slices.Clip(f.with), handlerStep{group: name})}
}

// server is what `brightline serve` runs: the gateway, the services it
// mounts, and their background loops. open builds it in order, run serves
// until ctx is done, and close releases what open opened.
type server struct {
	cfg     *Config
	db      dataStore
	log     *slog.Logger
	metrics *gateway.Metrics

	auditLog    *auditlog.Log
	policy      gateway.PolicySource
	watchPolicy func(context.Context, <-chan os.Signal)
	hup         chan os.Signal // SIGHUP: reload the policy
	surv        *surveillanceState
	approvals   *approval.Service
	usage       *exposure.Recorder
	used        *keyUsage
	gw          *gateway.Gateway
	ln          net.Listener
	srv         *http.Server
	debug       *http.Server // debug.listen's profiles, or nil
	debugLn     net.Listener

	closers []func() // run in reverse order by close
}

// open builds the server: the audit log first, since every policy
// activation, decision and approval from then on is recorded in it, then
// the policy, the safeguards' state, the gateway and what it mounts, and
// the listener.
func (s *server) open(ctx context.Context, allowUnsigned bool) error {
	cfg, log := s.cfg, s.log
	router, err := buildRouter(cfg, s.metrics)
	if err != nil {
		return err
	}
	warnSimulated(cfg, log)
	if err := s.warnNoKeys(ctx); err != nil {
		return err
	}
	auditLog, logVKey, err := openAudit(ctx, cfg, s.db, s.metrics.Registerer(), log)
	if err != nil {
		return err
	}
	s.auditLog = auditLog
	s.closers = append(s.closers, func() { auditLog.Close() })
	if err := s.openPolicy(ctx, logVKey, allowUnsigned); err != nil {
		return err
	}
	tools, err := cfg.toolEffects()
	if err != nil {
		return err
	}
	if s.surv, err = openSurveillance(ctx, cfg, s.db, log); err != nil {
		return err
	}
	if s.approvals, err = openApprovals(cfg, s.db, auditLog, log); err != nil {
		return err
	}
	mirror, err := openShadow(cfg, s.db, s.metrics.Registerer(), log)
	if err != nil {
		return err
	}
	if mirror != nil {
		s.closers = append(s.closers, func() { mirror.Close() }) // before the store closes
	}
	s.gw = s.newGateway(router, tools, mirror)
	if err := s.mount(ctx, tools); err != nil {
		return err
	}
	return s.listen()
}

// close releases what open opened, last first.
func (s *server) close() {
	for _, c := range slices.Backward(s.closers) {
		c()
	}
}

// warnSimulated warns about each simulated provider, loudly if it answers
// every model name.
func warnSimulated(cfg *Config, log *slog.Logger) {
	for _, p := range cfg.Providers {
		if p.Type != "simulated" {
			continue
		}
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

// warnNoKeys warns when no API key exists yet.
func (s *server) warnNoKeys(ctx context.Context) error {
	n, err := s.db.CountActiveKeys(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		s.log.Warn("no API keys yet, so every request will get 401; create one with: brightline keys create -name NAME", "data_dir", s.cfg.DataDir)
	}
	return nil
}

// openPolicy puts the policy in force. The trust root first: the store
// must not be behind the log, and the configured trust set must be the
// pinned one (or a signed rotation of it). Then a policy file that fails
// its checks stops the gateway here; later reloads that fail keep the
// policy in force.
func (s *server) openPolicy(ctx context.Context, logVKey string, allowUnsigned bool) error {
	cfg := s.cfg
	recordEntry := func(ctx context.Context, e auditlog.Entry) error {
		return appendWaiting(ctx, s.auditLog, e)
	}
	anchor, err := auditlog.ReadAnchor(ctx, filepath.Join(cfg.DataDir, auditlog.DirName), logVKey)
	if err != nil {
		return err
	}
	plan, err := establishTrust(ctx, &cfg.Policy, s.db, anchor, allowUnsigned, recordEntry)
	if err != nil {
		return err
	}
	policySrc, watchPolicy, err := servePolicy(ctx, cfg, s.db, plan, s.log, s.metrics, recordEntry)
	if err != nil {
		return err
	}
	s.policy, s.watchPolicy = policySrc, watchPolicy
	s.metrics.WatchPolicy(policySrc)
	// SIGHUP reloads the policy; it must never stop the server, so it has
	// its own channel rather than joining the shutdown signals.
	s.hup = make(chan os.Signal, 1)
	signal.Notify(s.hup, syscall.SIGHUP)
	s.closers = append(s.closers, func() { signal.Stop(s.hup) })
	return nil
}

// newGateway makes the gateway, with the traffic inventory and the
// last-used times of keys fed from its requests.
func (s *server) newGateway(router *provider.Router, tools *policy.ToolEffects, mirror *shadow.Mirror) *gateway.Gateway {
	cfg, auditLog := s.cfg, s.auditLog
	auth := gateway.StoreAuthenticator(s.db)
	if cfg.Auth.CacheTTL > 0 {
		auth = gateway.CacheAuthenticator(auth, cfg.Auth.CacheTTL, 100_000)
	}
	// The traffic inventory: which provider and model each key's requests
	// used, aggregated in memory and written every minute.
	s.usage = exposure.NewRecorder(s.db, nil)
	s.usage.Log = s.log
	ptypes := providerTypes(cfg)
	finished := func(f gateway.Finished) {
		s.usage.Record(exposure.Use{
			PrincipalID: f.Principal.ID, PrincipalName: f.Principal.Name, Route: f.Route,
			Provider: f.Served.Provider, ProviderType: ptypes[f.Served.Provider], Model: f.Served.Model,
			InputTokens: int64(f.Usage.InputTokens), OutputTokens: int64(f.Usage.OutputTokens),
			Features: exposure.FeaturesOf(f.Request),
		})
	}
	s.used = &keyUsage{db: s.db, log: s.log}
	return gateway.New(gateway.Config{
		MaxRequestBytes: cfg.Limits.MaxRequestBytes,
		Limits: gateway.Limits{
			BodyReadTimeout:     cfg.Limits.BodyReadTimeout,
			KeyRequestsInFlight: cfg.Limits.KeyRequestsInFlight,
			KeyBytesInFlight:    cfg.Limits.KeyBytesInFlight,
			BodyBytesInFlight:   cfg.Limits.BodyBytesInFlight,
		},
		Logger:       s.log,
		Metrics:      s.metrics,
		Policy:       s.policy,
		Tools:        tools,
		KeyUsed:      s.used.Mark,
		Surveillance: s.surv.Surveillance,
		Audit:        auditLog,
		AuditStatus: func() gateway.AuditStatus {
			st := auditLog.Status()
			return gateway.AuditStatus{Size: st.Size, PublishedSize: st.PublishedSize, JournalSize: st.JournalSize, Lag: st.Lag,
				LagSeconds: st.LagAge.Seconds(), Degraded: st.Degraded, LastError: st.LastError, LastErrorAt: st.LastErrorAt}
		},
		Approvals: s.approvals,
		Finished:  finished,
		Mirror:    mirror,
	}, auth, router)
}

// mount puts the approvals API, the console, the audit log, the traffic
// inventory and the MCP proxy on the gateway's mux.
func (s *server) mount(ctx context.Context, tools *policy.ToolEffects) error {
	gw, db := s.gw, s.db
	gw.Handle("/brightline/v1/approvals", s.approvals.Handler(gw.Principal))
	gw.Handle("/brightline/v1/approvals/", s.approvals.Handler(gw.Principal))
	gw.Handle("/ui/", web.Handler(s.approvals, gw.Principal, s.log))
	gw.Handle("/log/", s.auditLog.Handler(isAuditor(gw)))
	routes := routeInfo(s.cfg)
	gw.Handle("/brightline/v1/exposure", exposure.Handler(db, routes, gw.Principal, s.log))
	exposurePage := web.ExposureHandler(db, routes, gw.Principal, s.log)
	gw.Handle("/ui/exposure", exposurePage)
	gw.Handle("/ui/exposure.css", exposurePage)
	mcp, err := openMCP(ctx, s.cfg, tools, s.surv.Surveillance, s.policy, s.approvals, gw, s.auditLog, s.log)
	if err != nil {
		return err
	}
	if mcp != nil {
		s.closers = append(s.closers, func() { mcp.Close() })
		gw.Handle("/mcp/", mcp.Handler())
	}
	return nil
}

// listen opens the listener and the HTTP server around the gateway.
func (s *server) listen() error {
	cfg := s.cfg
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.gw,
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		// No ReadTimeout or WriteTimeout: streams may legitimately run for
		// minutes. The gateway sets a read deadline per request while it
		// reads the body (limits.body_read_timeout).
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	models := make([]string, 0)
	for _, r := range cfg.Routes {
		models = append(models, r.Model)
	}
	if err := s.listenDebug(); err != nil {
		ln.Close()
		return err
	}
	s.log.Info("brightline listening", "addr", "http://"+ln.Addr().String(), "data_dir", cfg.DataDir, "models", models, "version", version())
	return nil
}

// listenDebug opens debug.listen, if set, serving net/http/pprof's
// handlers; config validation has checked that it is on loopback.
func (s *server) listenDebug() error {
	if s.cfg.Debug.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Debug.Listen)
	if err != nil {
		return fmt.Errorf("debug.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.debugLn = ln
	s.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("serving profiles", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return nil
}

// serveHTTP serves srv on ln until srv is shut down or closed.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// run serves until ctx is done, with the background loops beside the
// server, then drains (see shutdown) and saves what the loops would have
// saved next.
func (s *server) run(ctx context.Context) error {
	log := s.log
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { s.watchPolicy(gctx, s.hup); return nil })
	g.Go(func() error { return serveHTTP(s.srv, s.ln) })
	g.Go(func() error {
		<-gctx.Done()
		return s.shutdown()
	})
	if s.debug != nil {
		g.Go(func() error { return serveHTTP(s.debug, s.debugLn) })
		g.Go(func() error {
			<-gctx.Done()
			return s.debug.Close()
		})
	}
	g.Go(func() error { s.used.Run(gctx, 30*time.Second); return nil })
	g.Go(func() error {
		if err := s.usage.Run(gctx, time.Minute); err != nil {
			log.Warn("couldn't save the traffic inventory", "err", err)
		}
		return nil
	})
	g.Go(func() error {
		// Request bodies kept to open commitments expire after
		// audit.body_retention.
		s.auditLog.RunBodySweeper(gctx, 10*time.Minute)
		return nil
	})
	g.Go(func() error {
		if err := s.approvals.RunSweeper(gctx, 5*time.Second); err != nil && gctx.Err() == nil {
			log.Error("approval sweeper stopped", "err", err)
		}
		return nil
	})
	g.Go(func() error {
		// SQLite: saves every surveillance.save_interval. PostgreSQL:
		// merges with the other replicas every store.merge_interval.
		if err := s.surv.Run(gctx); err != nil && gctx.Err() == nil {
			return fmt.Errorf("surveillance counters: %w", err)
		}
		return nil
	})
	err := g.Wait()
	// Requests drained above have been counted since the last save.
	if serr := s.surv.save(context.Background()); serr != nil {
		log.Error("couldn't save the surveillance counters at shutdown", "err", serr)
	}
	// Requests drained above may have marked keys since the last tick.
	s.used.flush(context.Background(), "couldn't record when keys were last used")
	log.Info("stopped")
	return err
}

// shutdown drains in-flight requests for limits.shutdown_timeout. When
// time is up it ends the remaining streams with an error event in their
// dialect, gives them a moment to be written, then closes.
func (s *server) shutdown() error {
	timeout := s.cfg.Limits.ShutdownTimeout
	s.log.Info("shutting down: draining in-flight requests", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	s.log.Warn("drain deadline passed; ending remaining streams")
	s.gw.Abort()
	actx, acancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer acancel()
	if err := s.srv.Shutdown(actx); err != nil {
		s.srv.Close()
	}
	return nil
}

// keyUsage records when each key was last used, in batches: the gateway
// marks keys on the request path, and Run writes the marks to the store.
type keyUsage struct {
	gateway.UsageBatcher
	db  gateway.KeyToucher
	log *slog.Logger
}

// Run flushes the marks every interval until ctx is done. A failed flush
// keeps its marks for the next one. Flush once more after Run returns.
func (u *keyUsage) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		u.flush(ctx, "couldn't record when keys were last used; will retry")
	}
}

// flush writes the marks, logging msg if that fails.
func (u *keyUsage) flush(ctx context.Context, msg string) {
	if err := u.Flush(ctx, u.db); err != nil {
		u.log.Warn(msg, "err", err)
	}
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

// serveGCPercent is the garbage collector's pace serve sets: a collection
// when the heap has grown by four times what was live after the last one,
// instead of Go's default of once. The gateway's live heap is small (tens
// of MiB) and it allocates per request, so the default collects several
// times a second under load; the soft memory limit still makes it collect
// sooner near the budget. At the throughput bench this took the gateway
// from 3,000–3,600 to 3,600–3,900 requests/s.
const serveGCPercent = 400

// gcPercent is the pace serve sets (debug.SetGCPercent) unless GOGC is
// set: the environment wins.
func gcPercent(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	return serveGCPercent, true
}

// maxProcs is how many goroutines serve lets run at once
// (runtime.GOMAXPROCS) unless GOMAXPROCS is set: one more than Go's
// default of the CPUs it may use. The audit log's journal flushes
// (fdatasync) and its index and Tessera fsyncs block in the kernel for
// 0.1 to several milliseconds, and Go hands a processor blocked in a
// system call to other goroutines only after the system monitor notices,
// up to milliseconds later: with two processors on two cores, a flush
// could idle half the gateway. A runtime trace at 1,000 requests/s showed
// the journal writer runnable without a processor for 523 ms in 3 s,
// right after its flushes; with one more processor, 74 ms.
func maxProcs(getenv func(string) string, current int) (int, bool) {
	if getenv("GOMAXPROCS") != "" {
		return 0, false
	}
	return current + 1, true
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

package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brightline/brightline/internal/exposure"
	"github.com/brightline/brightline/internal/shadow"
	"github.com/brightline/brightline/internal/store"
)

// openShadow starts shadow mode for the routes under shadow.routes, or
// returns nil if there are none. Each candidate gets a provider of its own,
// outside the router, so that no retry or failover clouds its results.
func openShadow(cfg *Config, st store.ShadowResults, reg prometheus.Registerer, log *slog.Logger) (*shadow.Mirror, error) {
	if len(cfg.Shadow.Routes) == 0 {
		return nil, nil
	}
	providers, err := buildProviders(cfg)
	if err != nil {
		return nil, err
	}
	cands := make(map[string]shadow.Candidate, len(cfg.Shadow.Routes))
	for route, sc := range cfg.Shadow.Routes {
		p, ok := providers[sc.Provider]
		if !ok {
			return nil, fmt.Errorf("shadow.routes[%s]: unknown provider %q", route, sc.Provider)
		}
		cands[route] = shadow.Candidate{Provider: p, Model: sc.Model, Sample: sc.Sample}
		log.Info("shadow mode: mirroring a sample of a route to a candidate", "route", route, "candidate", sc.Provider+"/"+sc.Model, "sample", sc.Sample)
	}
	return shadow.New(shadow.Config{
		Candidates:  cands,
		Store:       st,
		Concurrency: cfg.Shadow.Concurrency,
		Queue:       cfg.Shadow.Queue,
		Timeout:     cfg.Shadow.Timeout,
		Logger:      log,
		Registerer:  reg,
	})
}

// routeInfo describes the configured routes for the exposure reports and
// the transition plan: each target's provider, its type and base URL.
func routeInfo(cfg *Config) []exposure.RouteInfo {
	byName := map[string]ProviderConfig{}
	for _, p := range cfg.Providers {
		byName[p.Name] = p
	}
	out := make([]exposure.RouteInfo, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		ri := exposure.RouteInfo{Model: r.Model}
		for _, t := range r.Targets {
			p := byName[t.Provider]
			ri.Targets = append(ri.Targets, exposure.TargetInfo{Provider: p.Name, ProviderType: p.Type, BaseURL: p.BaseURL, Model: t.Model})
		}
		out = append(out, ri)
	}
	return out
}

// providerTypes maps provider names to their types, for exposure records.
func providerTypes(cfg *Config) map[string]string {
	m := make(map[string]string, len(cfg.Providers))
	for _, p := range cfg.Providers {
		m[p.Name] = p.Type
	}
	return m
}

func runExposure(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	return exitStatus(exposure.Command(ctx, args, existingStore(cfg), routeInfo(cfg), e.stdout, e.stderr))
}

func runTransition(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "plan" {
		fmt.Fprintln(e.stderr, "usage: brightline transition [-config FILE] plan --from VENDOR --to VENDOR [--since 30d] [--format table|json]")
		return errUsage
	}
	return exitStatus(exposure.PlanCommand(ctx, args[1:], existingStore(cfg), routeInfo(cfg), e.stdout, e.stderr))
}

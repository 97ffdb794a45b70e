package main

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

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

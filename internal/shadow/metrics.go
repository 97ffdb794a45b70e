package shadow

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the mirror's Prometheus series. They work unregistered when
// Config.Registerer is nil.
type metrics struct {
	reg     prometheus.Registerer
	offers  *prometheus.CounterVec
	results *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		reg: reg,
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brightline_shadow_offers_total",
			Help: "Requests offered for shadowing on a route with a candidate, by outcome: " +
				"sampled_out, queued, dropped (queue full) or closed (offered after shutdown).",
		}, []string{"route", "outcome"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brightline_shadow_results_total",
			Help: "Shadow comparisons that ended, by result: recorded, store_error or abandoned (unfinished at shutdown).",
		}, []string{"route", "result"}),
	}
}

// route resolves every series of one route.
func (m *metrics) route(name string, c Candidate) *route {
	return &route{
		name:      name,
		cand:      c,
		candName:  c.Provider.Name() + "/" + c.model(name),
		sampled:   m.offers.WithLabelValues(name, "sampled_out"),
		queued:    m.offers.WithLabelValues(name, "queued"),
		dropped:   m.offers.WithLabelValues(name, "dropped"),
		closed:    m.offers.WithLabelValues(name, "closed"),
		recorded:  m.results.WithLabelValues(name, "recorded"),
		failed:    m.results.WithLabelValues(name, "store_error"),
		abandoned: m.results.WithLabelValues(name, "abandoned"),
	}
}

// register registers the collectors and a gauge of the queue's length.
func (m *metrics) register(mi *Mirror, log *slog.Logger) {
	if m.reg == nil {
		return
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "brightline_shadow_queue_length",
		Help: "Sampled requests waiting for a shadow worker.",
	}, func() float64 { return float64(len(mi.queue)) })
	for _, c := range []prometheus.Collector{m.offers, m.results, queue} {
		if err := m.reg.Register(c); err != nil {
			log.Warn("couldn't register shadow metric", "err", err)
		}
	}
}

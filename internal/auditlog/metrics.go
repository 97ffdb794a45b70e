package auditlog

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the log's Prometheus series. They work unregistered when
// Config.Registerer is nil.
type metrics struct {
	reg       prometheus.Registerer
	appends   *prometheus.CounterVec
	latency   prometheus.Histogram
	published prometheus.Gauge
	integrate *prometheus.HistogramVec
	flush     prometheus.Histogram
	size      prometheus.GaugeFunc
	cols      []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reg: reg,
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brightline_audit_appends_total",
			Help: "Audit log appends, by result (ok or error).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "brightline_audit_append_seconds",
			Help:    "Time for Append to return: the entry durable in the journal (or, when sequenced, in the log and indexed).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, 1},
		}),
		// What the integration lag is made of, batch by batch: how long
		// the batch's oldest record waited for the integrator (queued),
		// then writing the batch's index rows (index), then Tessera
		// sequencing it (tessera: its batch age and its fsyncs), and
		// meanwhile writing the rows of the records after it
		// (index_ahead).
		integrate: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "brightline_audit_integrate_seconds",
			Help:    "Integration of one batch of journal entries, by phase: queued (age of its oldest entry when the batch starts), index (writing its index rows), tessera (sequencing it into the tree), index_ahead (writing the next records' index rows while Tessera sequences it).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"phase"}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "brightline_audit_journal_flush_seconds",
			Help:    "Time to write one group of records to the audit journal and flush it (fdatasync); every append in the group waits for it.",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .02, .05, .1, .25, 1},
		}),
		published: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "brightline_audit_published_size",
			Help: "Tree size of the latest checkpoint that meets the witness quorum.",
		}),
	}
	return m
}

// setStatus registers the collectors, including a size gauge read from l.
func (m *metrics) setStatus(l *Log) {
	m.size = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "brightline_audit_log_size",
		Help: "Entries durably sequenced in the audit log.",
	}, func() float64 {
		n, err := l.reader.IntegratedSize(context.Background())
		if err != nil {
			return 0
		}
		return float64(n)
	})
	journal := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "brightline_audit_journal_size",
		Help: "Entries durable in the audit journal: the next log index.",
	}, func() float64 { j, _, _ := l.lag(); return float64(j) })
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "brightline_audit_integration_lag_entries",
		Help: "Journal entries not yet integrated into the audit log.",
	}, func() float64 { _, n, _ := l.lag(); return float64(n) })
	lagAge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "brightline_audit_integration_lag_seconds",
		Help: "Age of the oldest journal entry not yet integrated; past the MMD, appends are refused.",
	}, func() float64 { _, _, age := l.lag(); return age.Seconds() })
	m.cols = []prometheus.Collector{m.appends, m.latency, m.integrate, m.flush, m.published, m.size, journal, lag, lagAge}
	if m.reg == nil {
		return
	}
	for _, c := range m.cols {
		if err := m.reg.Register(c); err != nil {
			l.log.Warn("couldn't register audit log metric", "err", err)
		}
	}
}

func (m *metrics) observe(d time.Duration, err error) {
	if err != nil {
		m.appends.WithLabelValues("error").Inc()
		return
	}
	m.appends.WithLabelValues("ok").Inc()
	m.latency.Observe(d.Seconds())
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.cols {
		m.reg.Unregister(c)
	}
}

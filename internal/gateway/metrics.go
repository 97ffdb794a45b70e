package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/brightline/brightline/internal/provider"
)

// Metrics holds the gateway's Prometheus metrics. It also observes the
// router's upstream attempts, so pass it as the Router's Observer.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	tokens          *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	retries         *prometheus.CounterVec
	failovers       *prometheus.CounterVec
	breakerOpens    *prometheus.CounterVec
	decisions       *prometheus.CounterVec
	activations     *prometheus.CounterVec // registered by WatchPolicy
}

var _ provider.Observer = (*Metrics)(nil)

// Registerer lets other parts of Brightline (the audit log) register
// their metrics so that /metrics serves them too.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// NewMetrics returns metrics registered in a fresh registry, together with
// the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	latency := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_requests_total",
		Help: "Model API requests by client dialect, streaming, and HTTP status (499: client went away).",
	}, []string{"dialect", "stream", "code"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "brightline_request_duration_seconds",
		Help:    "Time from request arrival to the end of the response (for streams, the last event).",
		Buckets: latency,
	}, []string{"dialect", "stream"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_tokens_total",
		Help: "Tokens reported by providers, by target and direction (input, output).",
	}, []string{"target", "direction"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_upstream_attempts_total",
		Help: "Upstream attempts by target and outcome (ok or error).",
	}, []string{"target", "outcome"})
	m.attemptDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "brightline_upstream_attempt_duration_seconds",
		Help:    "Time until a target answered (headers for streams) or failed.",
		Buckets: latency,
	}, []string{"target"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_upstream_retries_total",
		Help: "Retries of the same target after a retryable failure.",
	}, []string{"target"})
	m.failovers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_upstream_failovers_total",
		Help: "Moves from a failed or skipped target to the next one in a route.",
	}, []string{"from", "to"})
	m.breakerOpens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_upstream_breaker_opens_total",
		Help: "Times a target's circuit breaker opened.",
	}, []string{"target"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_policy_decisions_total",
		Help: "Policy decisions by stage, action, safeguard and winning rule (empty when no rule matched).",
	}, []string{"stage", "action", "safeguard", "rule"})
	m.activations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "brightline_policy_activations_total",
		Help: "Attempts to activate a policy bundle, by result (activated, refused) and reason.",
	}, []string{"result", "reason"})
	for _, c := range []prometheus.Collector{m.decisions, m.requests, m.requestDuration, m.tokens, m.attempts,
		m.attemptDuration, m.retries, m.failovers, m.breakerOpens} {
		f(c)
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) observeRequest(x *exchange, dur time.Duration) {
	stream := strconv.FormatBool(x.stream)
	dialect := string(x.codec.dialect)
	m.requests.WithLabelValues(dialect, stream, strconv.Itoa(x.status)).Inc()
	m.requestDuration.WithLabelValues(dialect, stream).Observe(dur.Seconds())
	for _, d := range x.decisions {
		m.decisions.WithLabelValues(string(d.Stage), string(d.Action), d.Safeguard, d.Rule).Inc()
	}
	if x.served.Target != "" {
		if x.usage.InputTokens > 0 {
			m.tokens.WithLabelValues(x.served.Target, "input").Add(float64(x.usage.InputTokens))
		}
		if x.usage.OutputTokens > 0 {
			m.tokens.WithLabelValues(x.served.Target, "output").Add(float64(x.usage.OutputTokens))
		}
	}
}

// Attempt implements provider.Observer.
func (m *Metrics) Attempt(target string, dur time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.attempts.WithLabelValues(target, outcome).Inc()
	m.attemptDuration.WithLabelValues(target).Observe(dur.Seconds())
}

// Retry implements provider.Observer.
func (m *Metrics) Retry(target string, wait time.Duration) { m.retries.WithLabelValues(target).Inc() }

// Failover implements provider.Observer.
func (m *Metrics) Failover(from, to string) { m.failovers.WithLabelValues(from, to).Inc() }

// BreakerOpen implements provider.Observer.
func (m *Metrics) BreakerOpen(target string) { m.breakerOpens.WithLabelValues(target).Inc() }

// WatchPolicy exports the version of the policy in force and whether it is
// unsigned (development mode) as gauges read from src at scrape time.
func (m *Metrics) WatchPolicy(src PolicySource) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "brightline_policy_version",
		Help: "Version of the policy bundle in force (0: the embedded default or an unsigned file).",
	}, func() float64 { return float64(src.Status().Version) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "brightline_policy_unsigned",
		Help: "1 when the policy in force was loaded without signatures (development mode).",
	}, func() float64 {
		if src.Status().Unsigned {
			return 1
		}
		return 0
	}))
	m.reg.MustRegister(m.activations)
}

// PolicyActivation counts an attempt to activate a policy bundle: result
// is "activated" or "refused"; reason a short class such as "threshold",
// "hash", "rollback", "not_yet_active", "compile", "malformed" or "io".
func (m *Metrics) PolicyActivation(result, reason string) {
	m.activations.WithLabelValues(result, reason).Inc()
}

// Package metrics exports the gateway's and the watchdog's Prometheus metrics
// (client_golang) on a registry the caller creates. Names are
// vllmctl_<subsystem>_<name> with unit suffixes; label values come from closed
// sets (configured model names or "other", route patterns, status classes).
// It satisfies gateway.Observer structurally.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the collectors.
type Metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	ttfb        *prometheus.HistogramVec
	inflight    prometheus.Gauge
	upstreamErr *prometheus.CounterVec
	retries     *prometheus.CounterVec
	ready       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	state       *prometheus.GaugeVec
	models      map[string]bool
}

var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// New registers the collectors on reg. models is the closed set of model labels.
func New(reg prometheus.Registerer, models []string) *Metrics {
	m := &Metrics{models: map[string]bool{}}
	for _, n := range models {
		m.models[n] = true
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vllmctl_gateway_requests_total", Help: "Requests through the gateway by model, route and status class."}, []string{"model", "route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vllmctl_gateway_request_duration_seconds", Help: "Request duration through the gateway.", Buckets: latencyBuckets}, []string{"model", "route"})
	m.ttfb = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vllmctl_gateway_time_to_first_byte_seconds", Help: "Time to the first response byte sent to the client.", Buckets: latencyBuckets}, []string{"model", "route"})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "vllmctl_gateway_requests_in_flight", Help: "Requests in flight through the gateway."})
	m.upstreamErr = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vllmctl_gateway_upstream_errors_total", Help: "Errors talking to an engine, by profile."}, []string{"profile"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vllmctl_gateway_retries_total", Help: "Requests retried on another engine before any byte was sent."}, []string{"model"})
	m.ready = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vllmctl_engine_ready", Help: "1 when the profile's engine answers /health, else 0."}, []string{"profile"})
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vllmctl_watchdog_transitions_total", Help: "Watchdog state changes and actions, by profile, new state and action."}, []string{"profile", "state", "action"})
	m.state = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vllmctl_watchdog_state", Help: "1 for the watchdog's current state of each profile."}, []string{"profile", "state"})
	reg.MustRegister(m.requests, m.latency, m.ttfb, m.inflight, m.upstreamErr, m.retries, m.ready, m.transitions, m.state)
	return m
}

func (m *Metrics) model(name string) string {
	if m.models[name] {
		return name
	}
	return "other"
}

// Request implements gateway.Observer.
func (m *Metrics) Request(model, route string, status int, dur, ttfb time.Duration) {
	model = m.model(model)
	m.requests.WithLabelValues(model, route, strconv.Itoa(status/100)+"xx").Inc()
	m.latency.WithLabelValues(model, route).Observe(dur.Seconds())
	if ttfb > 0 {
		m.ttfb.WithLabelValues(model, route).Observe(ttfb.Seconds())
	}
}

// InFlight implements gateway.Observer.
func (m *Metrics) InFlight(delta int) { m.inflight.Add(float64(delta)) }

// UpstreamError implements gateway.Observer.
func (m *Metrics) UpstreamError(profile string) { m.upstreamErr.WithLabelValues(profile).Inc() }

// Retry implements gateway.Observer.
func (m *Metrics) Retry(model string) { m.retries.WithLabelValues(m.model(model)).Inc() }

// EngineReady records an engine's readiness.
func (m *Metrics) EngineReady(profile string, ready bool) {
	v := 0.0
	if ready {
		v = 1
	}
	m.ready.WithLabelValues(profile).Set(v)
}

// Transition records a watchdog transition.
func (m *Metrics) Transition(profile, from, to, action string) {
	m.transitions.WithLabelValues(profile, to, action).Inc()
	if from != "" {
		m.state.WithLabelValues(profile, from).Set(0)
	}
	m.state.WithLabelValues(profile, to).Set(1)
}

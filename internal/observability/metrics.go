package observability

import (
	"fmt"
	"strings"
)

// Metric is one quantity under every name vLLM (or vllmctl) has published it
// as, newest first. A histogram's names are its base names (without _bucket).
type Metric struct {
	Names []string
	Kind  Kind
}

// Kind of metric, for the suffixes a query uses.
type Kind int

// Kinds.
const (
	Gauge Kind = iota
	Counter
	Histogram
)

// The engine metrics the rules and dashboards read (FACTS.md §2).
var (
	KVCacheUsage     = Metric{Names: []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"}, Kind: Gauge}
	RequestsRunning  = Metric{Names: []string{"vllm:num_requests_running"}, Kind: Gauge}
	RequestsWaiting  = Metric{Names: []string{"vllm:num_requests_waiting"}, Kind: Gauge}
	PromptTokens     = Metric{Names: []string{"vllm:prompt_tokens_total"}, Kind: Counter}
	GenerationTokens = Metric{Names: []string{"vllm:generation_tokens_total"}, Kind: Counter}
	Preemptions      = Metric{Names: []string{"vllm:num_preemptions_total"}, Kind: Counter}
	RequestSuccess   = Metric{Names: []string{"vllm:request_success_total"}, Kind: Counter}
	TTFT             = Metric{Names: []string{"vllm:time_to_first_token_seconds"}, Kind: Histogram}
	InterTokenLat    = Metric{Names: []string{"vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"}, Kind: Histogram}
	E2ELatency       = Metric{Names: []string{"vllm:e2e_request_latency_seconds"}, Kind: Histogram}
	QueueTime        = Metric{Names: []string{"vllm:request_queue_time_seconds"}, Kind: Histogram}
)

// The gateway's and watchdog's metrics (internal/metrics).
var (
	GatewayRequests  = Metric{Names: []string{"vllmctl_gateway_requests_total"}, Kind: Counter}
	GatewayDuration  = Metric{Names: []string{"vllmctl_gateway_request_duration_seconds"}, Kind: Histogram}
	GatewayTTFB      = Metric{Names: []string{"vllmctl_gateway_time_to_first_byte_seconds"}, Kind: Histogram}
	GatewayInFlight  = Metric{Names: []string{"vllmctl_gateway_requests_in_flight"}, Kind: Gauge}
	GatewayUpstream  = Metric{Names: []string{"vllmctl_gateway_upstream_errors_total"}, Kind: Counter}
	GatewayRetries   = Metric{Names: []string{"vllmctl_gateway_retries_total"}, Kind: Counter}
	EngineReady      = Metric{Names: []string{"vllmctl_engine_ready"}, Kind: Gauge}
	WatchdogState    = Metric{Names: []string{"vllmctl_watchdog_state"}, Kind: Gauge}
	WatchdogChanges  = Metric{Names: []string{"vllmctl_watchdog_transitions_total"}, Kind: Counter}
	ScrapeUp         = Metric{Names: []string{"up"}, Kind: Gauge}
	DCGMFBUsed       = Metric{Names: []string{"DCGM_FI_DEV_FB_USED"}, Kind: Gauge}
	DCGMFBFree       = Metric{Names: []string{"DCGM_FI_DEV_FB_FREE"}, Kind: Gauge}
	NvidiaSMIUsed    = Metric{Names: []string{"nvidia_smi_memory_used_bytes"}, Kind: Gauge}
	NvidiaSMITotal   = Metric{Names: []string{"nvidia_smi_memory_total_bytes"}, Kind: Gauge}
	renamedOnlyNames = map[string]string{} // old name -> newest name, filled by init
)

func init() {
	for _, m := range []Metric{KVCacheUsage, InterTokenLat} {
		for _, old := range m.Names[1:] {
			renamedOnlyNames[old] = m.Names[0]
		}
	}
}

// Renamed maps every older metric name the queries read to its newest name.
func Renamed() map[string]string {
	out := make(map[string]string, len(renamedOnlyNames))
	for k, v := range renamedOnlyNames {
		out[k] = v
	}
	return out
}

// series is a selector of one name with a label matcher string ("" or `a="b",c=~"d"`).
func series(name, matchers string) string {
	if matchers == "" {
		return name
	}
	return name + "{" + matchers + "}"
}

// Agg renders `op grouping (f(series))` for every name of m, joined with
// `or`: the aggregation drops the metric name, so where a release emits both
// names the newest wins and nothing is counted twice. grouping is a clause
// such as "by (profile)" or "without (engine)"; f wraps one selector (nil: the
// selector itself); suffix is added to each name (e.g. "_bucket").
func (m Metric) Agg(op, grouping, suffix, matchers string, f func(sel string) string) string {
	var parts []string
	for _, n := range m.Names {
		sel := series(n+suffix, matchers)
		if f != nil {
			sel = f(sel)
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", op, grouping, sel))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " or ") + ")"
}

// Quantile renders histogram_quantile(q, ...) over every name of m.
func (m Metric) Quantile(q float64, by, matchers, window string) string {
	inner := m.Agg("sum", "by ("+joinBy("le", by)+")", "_bucket", matchers, func(sel string) string { return "rate(" + sel + "[" + window + "])" })
	return fmt.Sprintf("histogram_quantile(%g, %s)", q, inner)
}

// Rate renders sum by (by) (rate(name[window])) over every name of m.
func (m Metric) Rate(by, matchers, window string) string {
	return m.Agg("sum", "by ("+by+")", "", matchers, func(sel string) string { return "rate(" + sel + "[" + window + "])" })
}

func joinBy(first, rest string) string {
	if rest == "" {
		return first
	}
	return first + ", " + rest
}

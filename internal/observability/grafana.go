package observability

import (
	"encoding/json"
	"fmt"
)

// Dashboard is the subset of Grafana's dashboard JSON model vllmctl writes
// (schemaVersion 39: Grafana 10 and later import it).
type Dashboard struct {
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	Description   string     `json:"description"`
	Tags          []string   `json:"tags"`
	SchemaVersion int        `json:"schemaVersion"`
	Version       int        `json:"version"`
	Editable      bool       `json:"editable"`
	Refresh       string     `json:"refresh"`
	Time          TimeRange  `json:"time"`
	Timezone      string     `json:"timezone"`
	Templating    Templating `json:"templating"`
	Panels        []Panel    `json:"panels"`
}

// TimeRange is the default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the dashboard variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a dashboard variable: the datasource, or a label's values.
type Variable struct {
	Name       string         `json:"name"`
	Label      string         `json:"label"`
	Type       string         `json:"type"`
	Query      any            `json:"query"`
	Datasource *DatasourceRef `json:"datasource,omitempty"`
	Definition string         `json:"definition,omitempty"`
	Refresh    int            `json:"refresh,omitempty"`
	IncludeAll bool           `json:"includeAll,omitempty"`
	Multi      bool           `json:"multi,omitempty"`
	AllValue   string         `json:"allValue,omitempty"`
	Current    map[string]any `json:"current"`
}

// DatasourceRef points a panel at the datasource variable.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is one panel of a dashboard.
type Panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"` // timeseries, state-timeline
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Datasource  DatasourceRef  `json:"datasource"`
	GridPos     GridPos        `json:"gridPos"`
	Targets     []Target       `json:"targets"`
	FieldConfig FieldConfig    `json:"fieldConfig"`
	Options     map[string]any `json:"options"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string        `json:"refId"`
	Expr         string        `json:"expr"`
	LegendFormat string        `json:"legendFormat"`
	Datasource   DatasourceRef `json:"datasource"`
}

// FieldConfig sets the unit (and bounds) of a panel's values.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []any         `json:"overrides"`
}

// FieldDefaults are a panel's field defaults.
type FieldDefaults struct {
	Unit string   `json:"unit,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

// Grafana's variables used in queries; tests substitute them before parsing.
const (
	VarDatasource   = "datasource"
	VarProfile      = "profile"
	VarRateInterval = "$__rate_interval"
)

var ds = DatasourceRef{Type: "prometheus", UID: "${" + VarDatasource + "}"}

func datasourceVar() Variable {
	return Variable{Name: VarDatasource, Label: "Data source", Type: "datasource", Query: "prometheus", Current: map[string]any{}}
}

func profileVar(job string) Variable {
	q := fmt.Sprintf(`label_values(up{job=%q}, profile)`, job)
	return Variable{Name: VarProfile, Label: "Profile", Type: "query", Datasource: &ds, Definition: q,
		Query: map[string]any{"query": q, "refId": "profiles"}, Refresh: 2, IncludeAll: true, Multi: true, AllValue: ".*",
		Current: map[string]any{"text": "All", "value": "$__all"}}
}

// q is one query of a panel: expression and legend.
type q struct{ expr, legend string }

type layout struct {
	panels []Panel
	x, y   int
}

func (l *layout) add(kind, title, desc, unit string, bounds []float64, qs ...q) {
	p := Panel{ID: len(l.panels) + 1, Type: kind, Title: title, Description: desc, Datasource: ds,
		GridPos: GridPos{H: 8, W: 12, X: l.x, Y: l.y}, FieldConfig: FieldConfig{Defaults: FieldDefaults{Unit: unit}, Overrides: []any{}},
		Options: map[string]any{"legend": map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true},
			"tooltip": map[string]any{"mode": "multi", "sort": "desc"}}}
	if len(bounds) == 2 {
		p.FieldConfig.Defaults.Min, p.FieldConfig.Defaults.Max = &bounds[0], &bounds[1]
	}
	for i, x := range qs {
		p.Targets = append(p.Targets, Target{RefID: string(rune('A' + i)), Expr: x.expr, LegendFormat: x.legend, Datasource: ds})
	}
	l.panels = append(l.panels, p)
	if l.x == 0 {
		l.x = 12
	} else {
		l.x, l.y = 0, l.y+8
	}
}

func dashboard(uid, title, desc string, vars []Variable, panels []Panel) Dashboard {
	return Dashboard{UID: uid, Title: title, Description: desc, Tags: []string{"vllm", "vllmctl"}, SchemaVersion: 39, Version: 1,
		Editable: true, Refresh: "30s", Time: TimeRange{From: "now-1h", To: "now"}, Timezone: "browser",
		Templating: Templating{List: vars}, Panels: panels}
}

// EngineDashboard shows every engine the scrape configuration reads: tokens/s,
// TTFT and inter-token latency quantiles, KV cache usage, running and waiting
// requests, preemptions; one series per profile.
func EngineDashboard() Dashboard {
	m := `job="` + EngineJob + `",profile=~"$` + VarProfile + `"`
	ri := VarRateInterval
	var l layout
	l.add("timeseries", "Tokens per second", "Prompt (prefill) and generated tokens per second, per profile.", "short", nil,
		q{GenerationTokens.Rate("profile", m, ri), "{{profile}} generated"},
		q{PromptTokens.Rate("profile", m, ri), "{{profile}} prompt"})
	l.add("timeseries", "Time to first token", "p50, p95 and p99 of the time to first token, per profile.", "s", nil,
		q{TTFT.Quantile(0.5, "profile", m, ri), "{{profile}} p50"},
		q{TTFT.Quantile(0.95, "profile", m, ri), "{{profile}} p95"},
		q{TTFT.Quantile(0.99, "profile", m, ri), "{{profile}} p99"})
	l.add("timeseries", "Inter-token latency", "p50, p95 and p99 of the gap between output tokens (vllm:inter_token_latency_seconds, formerly vllm:time_per_output_token_seconds).", "s", nil,
		q{InterTokenLat.Quantile(0.5, "profile", m, ri), "{{profile}} p50"},
		q{InterTokenLat.Quantile(0.95, "profile", m, ri), "{{profile}} p95"},
		q{InterTokenLat.Quantile(0.99, "profile", m, ri), "{{profile}} p99"})
	l.add("timeseries", "KV cache usage", "Fraction of the KV cache in use (vllm:kv_cache_usage_perc, formerly vllm:gpu_cache_usage_perc). Above 90 % requests queue and get preempted.", "percentunit", []float64{0, 1},
		q{KVCacheUsage.Agg("max", "by (profile)", "", m, nil), "{{profile}}"})
	l.add("timeseries", "Requests running and waiting", "Requests in the running batch and in the queue, per profile.", "short", nil,
		q{RequestsRunning.Agg("sum", "by (profile)", "", m, nil), "{{profile}} running"},
		q{RequestsWaiting.Agg("sum", "by (profile)", "", m, nil), "{{profile}} waiting"})
	l.add("timeseries", "Preemptions per second", "Requests preempted for lack of KV cache (recomputed later): a sign the cache is too small for the load.", "short", nil,
		q{Preemptions.Rate("profile", m, ri), "{{profile}}"})
	l.add("timeseries", "End-to-end request latency", "p50 and p95 of the whole request, and p95 of the time spent queued.", "s", nil,
		q{E2ELatency.Quantile(0.5, "profile", m, ri), "{{profile}} p50"},
		q{E2ELatency.Quantile(0.95, "profile", m, ri), "{{profile}} p95"},
		q{QueueTime.Quantile(0.95, "profile", m, ri), "{{profile}} queued p95"})
	l.add("timeseries", "Finished requests per second", "Requests finished, by reason (stop, length, abort).", "reqps", nil,
		q{RequestSuccess.Rate("profile, finished_reason", m, ri), "{{profile}} {{finished_reason}}"})
	return dashboard("vllmctl-engines", "vLLM engines (vllmctl)",
		"Every engine of the project as `vllmctl export prometheus` scrapes it. Reads vLLM's old and new metric names.",
		[]Variable{datasourceVar(), profileVar(EngineJob)}, l.panels)
}

// GatewayDashboard shows `vllmctl serve`: requests by model and status,
// latency, upstream errors and retries, readiness, and the watchdog's states
// over time.
func GatewayDashboard() Dashboard {
	g := `job="` + GatewayJob + `"`
	gp := g + `,profile=~"$` + VarProfile + `"`
	ri := VarRateInterval
	var l layout
	l.add("timeseries", "Requests per second by model and status", "Requests through the gateway by model and status class.", "reqps", nil,
		q{GatewayRequests.Rate("model, status", g, ri), "{{model}} {{status}}"})
	l.add("timeseries", "Request latency", "p50, p95 and p99 of the whole request through the gateway, per model.", "s", nil,
		q{GatewayDuration.Quantile(0.5, "model", g, ri), "{{model}} p50"},
		q{GatewayDuration.Quantile(0.95, "model", g, ri), "{{model}} p95"},
		q{GatewayDuration.Quantile(0.99, "model", g, ri), "{{model}} p99"})
	l.add("timeseries", "Time to first byte", "p95 of the time until the first byte reaches the client (streaming: the first token).", "s", nil,
		q{GatewayTTFB.Quantile(0.95, "model", g, ri), "{{model}} p95"})
	l.add("timeseries", "In flight, upstream errors, retries", "Requests in flight; errors talking to an engine (per profile) and retries on another engine (per model), per second.", "short", nil,
		q{GatewayInFlight.Agg("sum", "by ()", "", g, nil), "in flight"},
		q{GatewayUpstream.Rate("profile", gp, ri), "{{profile}} upstream errors/s"},
		q{GatewayRetries.Rate("model", g, ri), "{{model}} retries/s"})
	l.add("state-timeline", "Watchdog state", "The watchdog's state of each profile over time (warmup, healthy, unanswered, wedged, hung, down, crash-loop, stalled-boot, port-forward-lost).", "", nil,
		q{WatchdogState.Agg("max", "by (profile, state)", "", gp, nil) + " == 1", "{{profile}} {{state}}"})
	l.add("timeseries", "Engine ready", "1 while the profile's engine answers /health, as the gateway sees it.", "short", []float64{0, 1},
		q{EngineReady.Agg("max", "by (profile)", "", gp, nil), "{{profile}}"})
	l.add("timeseries", "Watchdog actions", "Watchdog transitions per profile, new state and action (restart, report), counted over the last hour.", "short", nil,
		q{WatchdogChanges.Agg("sum", "by (profile, state, action)", "", gp, func(s string) string { return "increase(" + s + "[1h])" }), "{{profile}} {{state}} {{action}}"})
	return dashboard("vllmctl-gateway", "vllmctl gateway and watchdog",
		"`vllmctl serve`: the OpenAI gateway in front of every profile, and the watchdog that restarts wedged or hung engines.",
		[]Variable{datasourceVar(), profileVar(EngineJob)}, l.panels)
}

// Dashboards returns every dashboard by file name.
func Dashboards() map[string]Dashboard {
	return map[string]Dashboard{"vllmctl-engines.json": EngineDashboard(), "vllmctl-gateway.json": GatewayDashboard()}
}

// DashboardJSON renders a dashboard as indented JSON.
func DashboardJSON(d Dashboard) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

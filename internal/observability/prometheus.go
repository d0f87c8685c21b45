package observability

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// Job names in the scrape configuration; the rules select on them.
const (
	EngineJob  = "vllm-engine"
	GatewayJob = "vllmctl-gateway"
)

// File names written by export prometheus.
const (
	ConfigFile = "prometheus.yml"
	RulesFile  = "vllmctl-alerts.yml"
)

// Engine is one engine to scrape: a profile's vLLM service.
type Engine struct {
	Profile    string
	Service    string
	Model      string // served model name; "" when unknown
	ConfigHash string // of the profile's configuration (as up labels it)
	// Address is host:port of its /metrics as Prometheus reaches it; ""
	// when it cannot be told (no published port, a port from an unset
	// variable, a port Prometheus cannot reach): Unknown says why.
	Address string
	Unknown string
	// TTFTObjective is x-vllmctl.slo.ttft_p95: the p95 time to first token
	// the profile promises; 0 when none.
	TTFTObjective time.Duration
}

// Timing holds every interval, window and threshold of the configuration and
// the rules. DefaultTiming gives production values; tests scale them down.
type Timing struct {
	ScrapeInterval     time.Duration // 15s
	EvaluationInterval time.Duration // 15s
	DownFor            time.Duration // an engine or the gateway unreachable this long: 1m
	NotReadyAfter      time.Duration // still warming up (or stalled) this long after a (re)start: 15m
	Window             time.Duration // rate windows, KV pressure, queue growth, TTFT, 5xx: 5m
	Recent             time.Duration // a wedge, hang or crash loop seen within: 10m
	KVUsage            float64       // 0.9
	Gateway5xxRatio    float64       // 0.05
	GPUMemory          float64       // 0.98: above what any --gpu-memory-utilization reserves
}

// DefaultTiming returns the production values.
func DefaultTiming() Timing {
	return Timing{ScrapeInterval: 15 * time.Second, EvaluationInterval: 15 * time.Second, DownFor: time.Minute,
		NotReadyAfter: 15 * time.Minute, Window: 5 * time.Minute, Recent: 10 * time.Minute,
		KVUsage: 0.9, Gateway5xxRatio: 0.05, GPUMemory: 0.98}
}

// Config is what export prometheus renders.
type Config struct {
	Engines []Engine
	Gateway string // host:port of `vllmctl serve`; "" to leave it out
	// GatewayUnknown says why the gateway is not scraped ("" when it is, or
	// when it was left out on purpose).
	GatewayUnknown string
	Timing         Timing
}

// Notes says what could not be mapped: one line per engine not scraped.
func (c Config) Notes() []string {
	var out []string
	for _, e := range c.Engines {
		if e.Address == "" {
			out = append(out, fmt.Sprintf("profile %s (service %s): not scraped: %s", e.Profile, e.Service, e.Unknown))
		}
	}
	if c.GatewayUnknown != "" {
		out = append(out, "gateway: not scraped: "+c.GatewayUnknown)
	}
	return out
}

// Dur renders a duration as Prometheus writes it (5m, 15s, 250ms).
func Dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

type promConfig struct {
	Global        promGlobal     `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string `yaml:"scrape_interval"`
	EvaluationInterval string `yaml:"evaluation_interval"`
}

type scrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	MetricsPath   string         `yaml:"metrics_path"`
	ScrapeTimeout string         `yaml:"scrape_timeout,omitempty"`
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// ScrapeConfig renders prometheus.yml: one static target per engine with a
// known address (labels profile, service, model, config_hash) and the
// gateway; the rules file beside it. Engines without an address are listed
// in a header comment, never guessed.
func ScrapeConfig(c Config) ([]byte, error) {
	t := c.Timing
	pc := promConfig{
		Global:    promGlobal{ScrapeInterval: Dur(t.ScrapeInterval), EvaluationInterval: Dur(t.EvaluationInterval)},
		RuleFiles: []string{RulesFile},
	}
	eng := scrapeConfig{JobName: EngineJob, MetricsPath: "/metrics", StaticConfigs: []staticConfig{}}
	for _, e := range sortedEngines(c.Engines) {
		if e.Address == "" {
			continue
		}
		labels := map[string]string{"profile": e.Profile, "service": e.Service}
		if e.Model != "" {
			labels["model"] = e.Model
		}
		if e.ConfigHash != "" {
			labels["config_hash"] = e.ConfigHash
		}
		eng.StaticConfigs = append(eng.StaticConfigs, staticConfig{Targets: []string{e.Address}, Labels: labels})
	}
	pc.ScrapeConfigs = append(pc.ScrapeConfigs, eng)
	if c.Gateway != "" {
		pc.ScrapeConfigs = append(pc.ScrapeConfigs, scrapeConfig{JobName: GatewayJob, MetricsPath: "/metrics",
			StaticConfigs: []staticConfig{{Targets: []string{c.Gateway}}}})
	}
	var b bytes.Buffer
	b.WriteString("# Prometheus configuration written by `vllmctl export prometheus`: every engine's\n")
	b.WriteString("# /metrics (labels profile, service, model, config_hash) and the gateway's (vllmctl serve).\n")
	b.WriteString("# Write it again after changing the profiles.\n")
	if notes := c.Notes(); len(notes) > 0 {
		b.WriteString("#\n# Not scraped (add them by hand once their address is known):\n")
		for _, n := range notes {
			b.WriteString("#   " + n + "\n")
		}
	}
	if err := encodeYAML(&b, pc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeYAML(b *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

func sortedEngines(es []Engine) []Engine {
	out := append([]Engine(nil), es...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Profile != out[j].Profile {
			return out[i].Profile < out[j].Profile
		}
		return out[i].Service < out[j].Service
	})
	return out
}

// quote renders s as a PromQL string literal.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

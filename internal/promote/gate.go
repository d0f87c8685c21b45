package promote

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// Gate is what a candidate must meet (gate.yaml). Every field's default is in DefaultGate.
type Gate struct {
	// Concurrency levels both profiles are measured at. Default: [4]
	Concurrency []int `yaml:"concurrency"`
	// Duration of each level. Default: 5s
	Duration time.Duration `yaml:"duration"`
	// Metrics that must not be worse (bench compare verdict). Default:
	// output tokens/s, TTFT p99, E2E p50, error rate.
	Metrics []string `yaml:"metrics"`
	// MinEffect: smaller changes are no difference. Default: 0.03
	MinEffect float64 `yaml:"min_effect"`
	// Probes is a probe set (JSON lines) both must answer; relative to the
	// project root. Default: none.
	Probes string `yaml:"probes"`
	// MinProbePassRate is the candidate's lowest acceptable pass rate, and
	// McNemar's test must not find it worse than the live profile. Default: 0 (only McNemar).
	MinProbePassRate float64 `yaml:"min_probe_pass_rate"`
}

// DefaultGate returns the defaults of a gate.
func DefaultGate() Gate {
	return Gate{Concurrency: []int{4}, Duration: 5 * time.Second, Metrics: []string{"output tokens/s", "TTFT p99", "E2E p50", "error rate"}, MinEffect: 0.03}
}

var knownMetrics = []string{"output tokens/s", "requests/s", "goodput", "TTFT p50", "TTFT p99", "ITL p50", "E2E p50", "E2E p99", "error rate"}

// LoadGate reads a gate file strictly (unknown keys are errors); empty fields take the defaults.
func LoadGate(path string) (Gate, error) {
	g := DefaultGate()
	b, err := os.ReadFile(path)
	if err != nil {
		return g, err
	}
	var in Gate
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&in); err != nil && err.Error() != "EOF" {
		return g, fmt.Errorf("%s: %v (keys: concurrency, duration, metrics, min_effect, probes, min_probe_pass_rate)", path, err)
	}
	if len(in.Concurrency) > 0 {
		g.Concurrency = in.Concurrency
	}
	if in.Duration > 0 {
		g.Duration = in.Duration
	}
	if len(in.Metrics) > 0 {
		for _, m := range in.Metrics {
			if !slices.Contains(knownMetrics, m) {
				return g, fmt.Errorf("%s: metrics: %q is not a metric (use %s)", path, m, strings.Join(knownMetrics, ", "))
			}
		}
		g.Metrics = in.Metrics
	}
	if in.MinEffect > 0 {
		g.MinEffect = in.MinEffect
	}
	g.Probes, g.MinProbePassRate = in.Probes, in.MinProbePassRate
	if g.MinProbePassRate < 0 || g.MinProbePassRate > 1 {
		return g, fmt.Errorf("%s: min_probe_pass_rate %v: give a fraction between 0 and 1", path, g.MinProbePassRate)
	}
	return g, nil
}

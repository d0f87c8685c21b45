// Package configdiff compares two vLLM services semantically: image, every
// vLLM flag (names normalised, '='/space alike, the engine's defaults made
// explicit), GPUs, ports, environment, volumes and healthcheck. The same
// meaning gives no difference, whatever the formatting. It is pure.
package configdiff

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Change is one difference. A or B is "" when the item is absent on that side.
type Change struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
	// ADefault and BDefault: the side does not write the flag; its value
	// is vLLM's default.
	ADefault bool `json:"a_default,omitempty"`
	BDefault bool `json:"b_default,omitempty"`
}

func (c Change) String() string {
	side := func(v string, def bool) string {
		switch {
		case v == "":
			return "(absent)"
		case def:
			return v + " (default)"
		}
		return v
	}
	return fmt.Sprintf("%s: %s → %s", c.Field, side(c.A, c.ADefault), side(c.B, c.BDefault))
}

// Services compares two services. Secret values are compared but shown as ***.
func Services(a, b *project.Service) []Change {
	var out []Change
	add := func(field, x, y string) {
		if x != y {
			out = append(out, shown(field, x, y))
		}
	}
	add("image", a.Config.Image, b.Config.Image)
	fa, fb := Flags(a), Flags(b)
	for _, k := range unionKeys(fa, fb) {
		x, y := fa[k], fb[k]
		if x == y {
			continue
		}
		if vllm.IsSecretFlag(k) {
			x, y = mask(x, y)
		}
		// A value the file does not write is vLLM's default: said so, never
		// shown as if the profile set it.
		c := shown("--"+k, x, y)
		c.ADefault = x != "" && a.Args.SourceOf(k) != vllm.FromWritten
		c.BDefault = y != "" && b.Args.SourceOf(k) != vllm.FromWritten
		out = append(out, c)
	}
	return append(out, common(a, b)...)
}

// common compares what every compose service has besides its command.
func common(a, b *project.Service) []Change {
	var out []Change
	add := func(field, x, y string) {
		if x != y {
			out = append(out, shown(field, x, y))
		}
	}
	add("gpus", a.GPUs.String(), b.GPUs.String())
	add("ports", ports(a), ports(b))
	ea, eb := env(a), env(b)
	for _, k := range unionKeys(ea, eb) {
		x, y := ea[k], eb[k]
		if project.IsSecretName(k) {
			x, y = mask(x, y)
		}
		add("environment."+k, x, y)
	}
	add("volumes", volumes(a), volumes(b))
	add("healthcheck", health(a), health(b))
	add("ipc", a.Config.Ipc, b.Config.Ipc)
	add("shm_size", shm(a), shm(b))
	add("restart", a.Config.Restart, b.Config.Restart)
	return out
}

func mask(x, y string) (string, string) {
	m := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	if x != y && x != "" && y != "" {
		return "*** (one value)", "*** (another value)"
	}
	return m(x), m(y)
}

// Flags returns a service's vLLM flags, normalised, with the engine's defaults
// filled in for every known flag that has one (so leaving a default out and
// writing it give the same map). Booleans are "true"/"false".
func Flags(s *project.Service) map[string]string {
	out := map[string]string{}
	for _, f := range vllm.Flags() {
		if f.Default != "" && f.Name != "model" {
			out[f.Name] = f.Default
		}
	}
	if s.Args.SourceOf("gpu-memory-utilization") == vllm.FromDefault && s.Args.GPUMemoryUtilization > 0 {
		// the release's default (0.92 from vLLM 0.20), not the table's
		out["gpu-memory-utilization"] = normValue("gpu-memory-utilization", strconv.FormatFloat(s.Args.GPUMemoryUtilization, 'g', -1, 64))
	}
	for _, arg := range s.Args.List {
		switch {
		case arg.Negated:
			out[arg.Name] = "false"
		case len(arg.Values) == 0 && arg.Known && isValueFlag(arg.Name):
			out[arg.Name] = "(no value)"
		case len(arg.Values) == 0:
			out[arg.Name] = "true"
		default:
			out[arg.Name] = normValue(arg.Name, strings.Join(arg.Values, " "))
		}
	}
	if s.Args.Model != "" {
		out["model"] = s.Args.Model
	}
	return out
}

// normValue makes equal values print equally: numbers, JSON objects.
func normValue(name, v string) string {
	if _, ok := vllmJSON[name]; ok {
		return canonicalJSON(v)
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return v
}

func isValueFlag(name string) bool {
	f, _, ok := vllm.LookupFlag(name)
	return ok && f.Kind != vllm.Bool
}

var vllmJSON = map[string]bool{"rope-scaling": true, "hf-overrides": true, "speculative-config": true, "compilation-config": true,
	"kv-transfer-config": true, "override-generation-config": true, "limit-mm-per-prompt": true}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ports(s *project.Service) string {
	var p []string
	for _, x := range s.Ports {
		p = append(p, fmt.Sprintf("%d:%d", x.Published, x.Target))
	}
	sort.Strings(p)
	return strings.Join(p, ",")
}

func env(s *project.Service) map[string]string {
	out := map[string]string{}
	for k, v := range s.Config.Environment {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

func volumes(s *project.Service) string {
	var v []string
	for _, x := range s.Config.Volumes {
		src := x.Source
		if x.Type == "bind" {
			src = "bind:" + src
		}
		v = append(v, src+":"+x.Target)
	}
	sort.Strings(v)
	return strings.Join(v, ",")
}

func health(s *project.Service) string {
	h := s.Config.HealthCheck
	if h == nil || h.Disable {
		return ""
	}
	parts := []string{strings.Join(h.Test, " ")}
	if h.StartPeriod != nil {
		parts = append(parts, "start_period="+fmt.Sprint(*h.StartPeriod))
	}
	if h.Interval != nil {
		parts = append(parts, "interval="+fmt.Sprint(*h.Interval))
	}
	return strings.Join(parts, " ")
}

func shm(s *project.Service) string {
	if s.Config.ShmSize == 0 {
		return ""
	}
	return fmt.Sprint(int64(s.Config.ShmSize))
}

// shown is a change as printed: a value that cannot be known where vllmctl
// reads the files shows as written (${VAR}), not as its internal marker.
func shown(field, a, b string) Change {
	return Change{Field: field, A: vllm.ShowUnknown(a), B: vllm.ShowUnknown(b)}
}

package observability

import (
	"bytes"
	"fmt"
	"strconv"
)

// Alert names: the vocabulary the rules, the tests and the README share.
const (
	AlertEngineDown      = "VllmEngineDown"
	AlertGatewayDown     = "VllmctlGatewayDown"
	AlertEngineNotReady  = "VllmEngineNotReady"
	AlertEngineWedged    = "VllmEngineWedgedOrHung"
	AlertCrashLooping    = "VllmEngineCrashLooping"
	AlertKVCacheFull     = "VllmKVCacheNearlyFull"
	AlertQueueGrowing    = "VllmRequestsQueueGrowing"
	AlertTTFTObjective   = "VllmTTFTAboveObjective"
	AlertGateway5xx      = "VllmctlGateway5xxRatio"
	AlertGPUMemoryNearly = "GPUMemoryNearlyFull"
)

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is one group of rules, evaluated together.
type RuleGroup struct {
	Name  string `yaml:"name"`
	Rules []Rule `yaml:"rules"`
}

// Rule is an alerting rule.
type Rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

func severity(s string) map[string]string { return map[string]string{"severity": s} }

func notes(summary, description string) map[string]string {
	return map[string]string{"summary": summary, "description": description}
}

// Rules builds the alert rules of c.
func Rules(c Config) RuleFile {
	t := c.Timing
	win, recent := Dur(t.Window), Dur(t.Recent)
	short := Dur(max(t.Window/5, t.EvaluationInterval))
	engine := `job="` + EngineJob + `"`
	availability := RuleGroup{Name: "vllmctl-availability", Rules: []Rule{
		{Alert: AlertEngineDown, Expr: "up{" + engine + "} == 0", For: Dur(t.DownFor), Labels: severity("critical"),
			Annotations: notes("vLLM engine {{ $labels.profile }} is down",
				"Prometheus cannot scrape {{ $labels.instance }} (profile {{ $labels.profile }}, model {{ $labels.model }}) for "+Dur(t.DownFor)+
					": the engine is stopped, crashed, or still loading (vLLM listens only once ready). Run `vllmctl status {{ $labels.profile }}` and `vllmctl logs {{ $labels.profile }}`.")},
		{Alert: AlertGatewayDown, Expr: `up{job="` + GatewayJob + `"} == 0`, For: Dur(t.DownFor), Labels: severity("critical"),
			Annotations: notes("vllmctl gateway is down", "Prometheus cannot scrape `vllmctl serve` at {{ $labels.instance }} for "+Dur(t.DownFor)+": clients get no answer and no watchdog runs.")},
		{Alert: AlertEngineNotReady, Expr: WatchdogState.Agg("max", "by (profile)", "", `state=~"warmup|stalled-boot"`, nil) + " == 1",
			For: Dur(t.NotReadyAfter), Labels: severity("warning"),
			Annotations: notes("vLLM engine {{ $labels.profile }} is not ready "+Dur(t.NotReadyAfter)+" after its start",
				"The watchdog has seen profile {{ $labels.profile }} booting (warm-up or stalled boot) for "+Dur(t.NotReadyAfter)+
					": a long download, a stalled load or a crash before ready. `vllmctl logs {{ $labels.profile }}` shows the last phase.")},
		watchdogSeen(AlertEngineWedged, `state=~"wedged|hung"`, recent, "critical",
			"vLLM engine {{ $labels.profile }} was {{ $labels.state }}",
			"Within the last "+recent+" the watchdog found profile {{ $labels.profile }} {{ $labels.state }} (wedged: /health answers but a 4-token completion misses its deadline; hung: it stopped answering) and restarts it. Repeated: read `vllmctl logs {{ $labels.profile }}`."),
		watchdogSeen(AlertCrashLooping, `state="crash-loop"`, recent, "critical",
			"vLLM engine {{ $labels.profile }} is crash looping",
			"The engine's restart count keeps rising (watchdog state crash-loop within "+recent+"); the watchdog does not restart it further. `vllmctl logs {{ $labels.profile }}` names the fatal error and its fix."),
	}}
	kv := KVCacheUsage.Agg("max", "without (engine)", "", engine, nil)
	load := RuleGroup{Name: "vllmctl-load", Rules: []Rule{
		{Alert: AlertKVCacheFull, Expr: kv + " > " + num(t.KVUsage), For: win, Labels: severity("warning"),
			Annotations: notes("KV cache of {{ $labels.profile }} above "+pct(t.KVUsage)+" for "+win,
				"KV cache usage is {{ $value | humanizePercentage }} on profile {{ $labels.profile }}: new requests wait and running ones may be preempted. Lower the load, raise --gpu-memory-utilization, shorten --max-model-len or add a replica.")},
		{Alert: AlertQueueGrowing, Expr: fmt.Sprintf("%s > 0 and delta(%s[%s]) > 0",
			series(RequestsWaiting.Names[0], engine), series(RequestsWaiting.Names[0], engine), win), For: win, Labels: severity("warning"),
			Annotations: notes("Requests waiting and growing on {{ $labels.profile }}",
				"For "+win+" requests have waited on profile {{ $labels.profile }} and the queue has been longer than "+win+" before: the engine is saturated (or wedged).")},
	}}
	for _, e := range sortedEngines(c.Engines) {
		if e.TTFTObjective <= 0 || e.Address == "" {
			continue
		}
		m := engine + `,profile=` + quote(e.Profile)
		load.Rules = append(load.Rules, Rule{Alert: AlertTTFTObjective,
			Expr: TTFT.Quantile(0.95, "profile, model, config_hash", m, win) + " > " + num(e.TTFTObjective.Seconds()), For: win,
			Labels: map[string]string{"severity": "warning", "objective": Dur(e.TTFTObjective)},
			Annotations: notes("TTFT p95 of {{ $labels.profile }} above its objective "+Dur(e.TTFTObjective),
				"Time to first token p95 over "+win+" is {{ $value | humanizeDuration }} on profile {{ $labels.profile }}, above x-vllmctl.slo.ttft_p95 ("+Dur(e.TTFTObjective)+"). Long prompts, a full KV cache or queueing: see the KV and waiting panels.")})
	}
	gw := `job="` + GatewayJob + `"`
	errors := fmt.Sprintf("sum by (model) (rate(%s[%s]))", series(GatewayRequests.Names[0], gw+`,status="5xx"`), win)
	all := fmt.Sprintf("sum by (model) (rate(%s[%s]))", series(GatewayRequests.Names[0], gw), win)
	gateway := RuleGroup{Name: "vllmctl-gateway", Rules: []Rule{
		{Alert: AlertGateway5xx, Expr: errors + " / " + all + " > " + num(t.Gateway5xxRatio), For: short, Labels: severity("warning"),
			Annotations: notes("Gateway answers 5xx to "+pct(t.Gateway5xxRatio)+"+ of {{ $labels.model }} requests",
				"{{ $value | humanizePercentage }} of the requests for model {{ $labels.model }} got a 5xx over "+win+": an engine loading (503), dead (500) or unreachable (502).")},
	}}
	gpu := RuleGroup{Name: "vllmctl-gpu", Rules: []Rule{
		{Alert: AlertGPUMemoryNearly,
			Expr: fmt.Sprintf("%s / (%s + %s) > %s or %s / %s > %s",
				DCGMFBUsed.Names[0], DCGMFBUsed.Names[0], DCGMFBFree.Names[0], num(t.GPUMemory),
				NvidiaSMIUsed.Names[0], NvidiaSMITotal.Names[0], num(t.GPUMemory)),
			For: win, Labels: severity("warning"),
			Annotations: notes("GPU memory above "+pct(t.GPUMemory)+" on {{ $labels.instance }}",
				"A GPU exporter (DCGM or nvidia_gpu_exporter) reports {{ $value | humanizePercentage }} of a GPU's memory in use for "+win+
					", more than any --gpu-memory-utilization reserves: another process holds memory, and the next engine start fails with `Free memory on device`. `vllmctl gpus` lists the processes.")},
	}}
	return RuleFile{Groups: []RuleGroup{availability, load, gateway, gpu}}
}

// watchdogSeen fires while the watchdog's state gauge says state, or said it
// at any scrape within recent, or counted a transition into it within recent
// (a state shorter than a scrape interval is still seen through the counter).
func watchdogSeen(alert, state, recent, sev, summary, desc string) Rule {
	gauge := WatchdogState.Agg("max", "by (profile, state)", "", state, func(s string) string { return "max_over_time(" + s + "[" + recent + "])" })
	counter := WatchdogChanges.Agg("sum", "by (profile, state)", "", state, func(s string) string { return "increase(" + s + "[" + recent + "])" })
	return Rule{Alert: alert, Expr: gauge + " == 1 or " + counter + " > 0", Labels: severity(sev), Annotations: notes(summary, desc)}
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func pct(f float64) string { return strconv.FormatFloat(f*100, 'g', -1, 64) + " %" }

// AlertRules renders the rule file as YAML.
func AlertRules(c Config) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Alert rules written by `vllmctl export prometheus`; they read vLLM's old and new\n")
	b.WriteString("# metric names (e.g. vllm:gpu_cache_usage_perc and vllm:kv_cache_usage_perc).\n")
	if err := encodeYAML(&b, Rules(c)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

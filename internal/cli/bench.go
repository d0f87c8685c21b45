package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/bench"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
)

type benchFlags struct {
	concurrency string
	duration    time.Duration
	prompt      string
	output      string
	dataset     string
	ignoreEOS   bool
	slo         string
	via         string
	gateway     string
	port        int
	probe       string
	seed        uint64
	gpu         gpuFlags
}

func newBenchCmd(e *env) *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench PROFILE",
		Short: "Measure a deployed profile under load: latency percentiles, tokens/s, goodput, errors",
		Long: `Bench loads a deployed profile with streaming chat completions, in a closed
loop: at each --concurrency level that many clients send requests back to back
for --duration. Each request's time to first token (TTFT), inter-token
latency (ITL), end-to-end latency (E2E) and output tokens are recorded; each
level reports percentiles, output tokens/s, requests/s, goodput (requests/s
within the --slo objective) and errors by cause. Progress goes to stderr.

Requests go to the profile's published port (its served name and --api-key),
or through 'vllmctl serve' with --via gateway (a client key of the root .env).
Prompts are generated (--prompt-tokens, --output-tokens: N, MEAN:SD or
MIN-MAX; ignore_eos asks for exactly that many tokens) or read from --dataset
(JSON lines: {"prompt": "..."} or {"messages": [...]}, optional "max_tokens").
--probe FILE also runs a quality probe set (JSON lines: "prompt" or
"messages", and "expect", "expect_regex" or "expect_tool") and records each
probe's pass or fail.

The result is stored in .vllmctl/bench/<id>.json with what was measured: the
profile's last deploy id and config hash, the vLLM version the engine reports,
the GPUs (or "unknown"), and every request; a plot of throughput against
latency is written beside it (<id>.svg). 'bench list', 'bench show ID' and
'bench compare A B' read them.`,
		Example: `  vllmctl bench medium
  vllmctl bench medium --concurrency 1,8,32 --duration 30s --prompt-tokens 512:128 --output-tokens 256
  vllmctl bench medium --via gateway --dataset prompts.jsonl --probe probes.jsonl
  vllmctl bench list
  vllmctl bench compare 20261207T041500Z-medium 20261207T043000Z-medium-next`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runBench(e, f, args[0]) },
	}
	c.Flags().StringVar(&f.concurrency, "concurrency", "1,4,16,64", "closed-loop levels: clients sending back to back")
	c.Flags().DurationVar(&f.duration, "duration", bench.DefaultOptions().Duration, "how long each level runs")
	c.Flags().StringVar(&f.prompt, "prompt-tokens", "128:32", "prompt length: N, MEAN:SD (normal) or MIN-MAX (uniform)")
	c.Flags().StringVar(&f.output, "output-tokens", "128", "max_tokens per request: N, MEAN:SD or MIN-MAX")
	c.Flags().StringVar(&f.dataset, "dataset", "", "JSON lines of prompts or messages to send instead of generated prompts")
	c.Flags().BoolVar(&f.ignoreEOS, "ignore-eos", true, "ask for exactly max_tokens (vLLM's ignore_eos)")
	c.Flags().StringVar(&f.slo, "slo", "ttft=1s,itl=100ms", "goodput objective: ttft=, itl= (mean per request), e2e= bounds")
	c.Flags().StringVar(&f.via, "via", "port", "port (the profile's published port) or gateway (vllmctl serve)")
	c.Flags().StringVar(&f.gateway, "gateway", "http://127.0.0.1:8080", "the gateway's URL, with --via gateway")
	c.Flags().IntVar(&f.port, "port", 0, "host port (default: the profile's published port)")
	c.Flags().StringVar(&f.probe, "probe", "", "quality probe set (JSON lines) to run after the load")
	c.Flags().Uint64Var(&f.seed, "seed", 1, "seed of the generated prompts")
	f.gpu.register(c)
	addOutput(c, e)
	c.AddCommand(newBenchListCmd(e), newBenchShowCmd(e), newBenchCompareCmd(e))
	return c
}

func benchStore(p *project.Project) bench.Store {
	return bench.Store{Dir: filepath.Join(deploy.New(p, nil).Store.Dir, "bench")}
}

// parseSLO reads "ttft=1s,itl=100ms,e2e=10s".
func parseSLO(s string) (bench.Objective, error) {
	var o bench.Objective
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if !ok || err != nil || d < 0 {
			return o, fmt.Errorf("--slo %q: use ttft=DURATION,itl=DURATION,e2e=DURATION (e.g. ttft=1s,itl=100ms)", s)
		}
		switch strings.TrimSpace(k) {
		case "ttft":
			o.TTFT = d
		case "itl":
			o.ITL = d
		case "e2e":
			o.E2E = d
		default:
			return o, fmt.Errorf("--slo %q: unknown bound %q (use ttft, itl, e2e)", s, k)
		}
	}
	return o, nil
}

// benchOptions turns the load flags into bench options.
func (f benchFlags) options() (bench.Options, []bench.Probe, error) {
	o := bench.DefaultOptions()
	var err error
	if o.Concurrency, err = bench.ParseConcurrency(f.concurrency); err != nil {
		return o, nil, err
	}
	if f.duration <= 0 {
		return o, nil, fmt.Errorf("--duration %s: give a positive duration, e.g. 30s", f.duration)
	}
	o.Duration, o.IgnoreEOS, o.Seed = f.duration, f.ignoreEOS, f.seed
	if o.Prompt, err = bench.ParseLengths(f.prompt); err != nil {
		return o, nil, fmt.Errorf("--prompt-tokens %w", err)
	}
	if o.Output, err = bench.ParseLengths(f.output); err != nil {
		return o, nil, fmt.Errorf("--output-tokens %w", err)
	}
	if o.Objective, err = parseSLO(f.slo); err != nil {
		return o, nil, err
	}
	if f.dataset != "" {
		fh, err := os.Open(f.dataset)
		if err != nil {
			return o, nil, fmt.Errorf("--dataset: %w", err)
		}
		defer fh.Close()
		if o.Dataset, err = bench.ReadDataset(f.dataset, fh); err != nil {
			return o, nil, err
		}
	}
	var probes []bench.Probe
	if f.probe != "" {
		fh, err := os.Open(f.probe)
		if err != nil {
			return o, nil, fmt.Errorf("--probe: %w", err)
		}
		defer fh.Close()
		if probes, err = bench.ReadProbes(f.probe, fh); err != nil {
			return o, nil, err
		}
	}
	return o, probes, nil
}

func runBench(e *env, f benchFlags, profile string) error {
	o, probes, err := f.options()
	if err != nil {
		return usageErr("%v", err)
	}
	p, err := e.load(project.Options{})
	if err != nil {
		return err
	}
	eng, err := bench.Engine(p, profile)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	direct, via, derr := bench.PortTarget(eng, f.port)
	t := direct
	switch f.via {
	case "port":
		if derr != nil {
			return &exitError{code: ExitUsage, err: derr}
		}
	case "gateway":
		t, via = bench.GatewayTarget(p, profile, eng, f.gateway)
	default:
		return usageErr("--via %q: use port or gateway", f.via)
	}
	inv, src, err := e.inventory(p, f.gpu)
	if err != nil {
		fmt.Fprintf(e.stderr, "note: GPUs unknown (%v)\n", err)
	}
	now := time.Now()
	r := &bench.Result{ID: bench.NewID(now, profile), Profile: profile, Time: now.UTC(), Model: t.Model, Via: via, URL: t.BaseURL,
		Config: bench.Config{Concurrency: o.Concurrency, Duration: o.Duration, Prompt: o.Prompt.String(), Output: o.Output.String(),
			Dataset: f.dataset, IgnoreEOS: o.IgnoreEOS, Objective: o.Objective, Seed: o.Seed}}
	if len(o.Dataset) > 0 {
		r.Config.Prompt, r.Config.Output = "dataset", "dataset"
	}
	bench.Facts(e.ctx, r, deploy.New(p, nil).Store, eng, direct.BaseURL, inv, src)
	o.OnProgress = benchProgress(e.stderr)
	fmt.Fprintf(e.stderr, "bench %s: %s via %s, levels %v, %s each\n", profile, t.Model, via, o.Concurrency, o.Duration)
	r.Levels, err = bench.Run(e.ctx, t, o)
	if err != nil {
		return &exitError{code: ExitFindings, err: fmt.Errorf("bench %s: %w (nothing stored)", profile, err)}
	}
	if len(probes) > 0 {
		r.Probes = bench.RunProbes(e.ctx, t, f.probe, probes)
	}
	store := benchStore(p)
	path, err := store.Save(r)
	if err != nil {
		return err
	}
	svg := strings.TrimSuffix(path, ".json") + ".svg"
	if err := atomicfile.WriteFile(svg, bench.Plot(r), 0o644); err != nil {
		return err
	}
	return e.render(r, func(w io.Writer) error {
		printBench(w, r)
		fmt.Fprintf(w, "stored %s\nplot   %s\n", path, svg)
		if total := totalRequests(r); total > 0 && errorsOf(r) == total {
			return &exitError{code: ExitFindings, err: fmt.Errorf("every request of %s failed (%s): is it deployed and ready? vllmctl status %s", profile, errorKinds(r), profile)}
		}
		return nil
	})
}

// benchProgress draws a bar per level on stderr.
func benchProgress(w io.Writer) func(bench.Progress) {
	return func(p bench.Progress) {
		const width = 20
		n := int(float64(width) * p.Elapsed.Seconds() / p.Duration.Seconds())
		n = max(0, min(width, n))
		line := fmt.Sprintf("  c=%-4d [%s%s] %5.1fs/%.1fs  %d requests, %d errors", p.Concurrency, strings.Repeat("#", n), strings.Repeat(".", width-n),
			p.Elapsed.Seconds(), p.Duration.Seconds(), p.Requests, p.Errors)
		if p.Done {
			fmt.Fprintln(w, line)
		}
	}
}

func totalRequests(r *bench.Result) int {
	n := 0
	for _, l := range r.Levels {
		n += l.Requests
	}
	return n
}

func errorsOf(r *bench.Result) int {
	n := 0
	for _, l := range r.Levels {
		n += l.Errors
	}
	return n
}

func errorKinds(r *bench.Result) string {
	var parts []string
	for _, l := range r.Levels {
		for k, v := range l.ErrorKinds {
			parts = append(parts, fmt.Sprintf("%d × %s at c=%d", v, k, l.Concurrency))
		}
	}
	return strings.Join(parts, ", ")
}

func ms(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	return fmt.Sprintf("%.1f", s*1000)
}

// printBench prints a result's facts and one row per level.
func printBench(w io.Writer, r *bench.Result) {
	fmt.Fprintf(w, "%s  profile %s, model %s via %s\n", r.ID, r.Profile, r.Model, r.Via)
	fmt.Fprintf(w, "deploy %s, config %s, vLLM %s, GPUs %s\n", r.DeployID, r.ConfigHash, r.VLLMVersion, strings.Join(r.GPUs, "; "))
	obj := []string{}
	if r.Config.Objective.TTFT > 0 {
		obj = append(obj, "TTFT ≤ "+r.Config.Objective.TTFT.String())
	}
	if r.Config.Objective.ITL > 0 {
		obj = append(obj, "ITL ≤ "+r.Config.Objective.ITL.String())
	}
	if r.Config.Objective.E2E > 0 {
		obj = append(obj, "E2E ≤ "+r.Config.Objective.E2E.String())
	}
	fmt.Fprintf(w, "load: prompts %s tokens, output %s tokens, %s per level; goodput objective: %s\n\n", r.Config.Prompt, r.Config.Output, r.Config.Duration, strings.Join(obj, ", "))
	t := newTable(w, "CONC", "REQ/S", "OUT TOK/S", "GOODPUT/S", "TTFT P50", "TTFT P99", "ITL P50", "ITL P99", "E2E P50", "E2E P99", "REQUESTS", "ERRORS")
	for _, l := range r.Levels {
		errs := fmt.Sprint(l.Errors)
		if l.Errors > 0 {
			var kinds []string
			for k, v := range l.ErrorKinds {
				kinds = append(kinds, fmt.Sprintf("%d %s", v, k))
			}
			errs += " (" + strings.Join(kinds, ", ") + ")"
		}
		t.row(fmt.Sprint(l.Concurrency), fmt.Sprintf("%.2f", l.RequestsPerS), fmt.Sprintf("%.1f", l.OutputTokS), fmt.Sprintf("%.2f", l.GoodputPerS),
			ms(l.TTFT.P50), ms(l.TTFT.P99), ms(l.ITL.P50), ms(l.ITL.P99), ms(l.E2E.P50), ms(l.E2E.P99), fmt.Sprint(l.Requests), errs)
	}
	_ = t.flush()
	fmt.Fprintln(w, "(latencies in ms)")
	if r.Probes != nil {
		fmt.Fprintf(w, "probes %s: %d of %d passed (%.0f %%)\n", r.Probes.File, r.Probes.Passed, r.Probes.Total, 100*r.Probes.PassRate)
		for _, o := range r.Probes.Outcomes {
			if !o.Pass {
				fmt.Fprintf(w, "  fail %s: %s\n", o.ID, o.Reason)
			}
		}
	}
}

func newBenchListCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:     "list",
		Short:   "List stored benchmarks, oldest first",
		Example: `  vllmctl bench list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			list, err := benchStore(p).List()
			if err != nil {
				return err
			}
			if e.output != formatTable {
				if list == nil {
					list = []bench.Result{}
				}
				return writeData(e.stdout, e.output, list)
			}
			if len(list) == 0 {
				fmt.Fprintln(e.stdout, "no benchmarks yet (vllmctl bench PROFILE)")
				return nil
			}
			t := newTable(e.stdout, "ID", "PROFILE", "CONCURRENCY", "PEAK TOK/S", "ERRORS", "PROBES", "DEPLOY", "VLLM")
			for _, r := range list {
				peak := 0.0
				var conc []string
				for _, l := range r.Levels {
					peak = math.Max(peak, l.OutputTokS)
					conc = append(conc, fmt.Sprint(l.Concurrency))
				}
				probes := ""
				if r.Probes != nil {
					probes = fmt.Sprintf("%d/%d", r.Probes.Passed, r.Probes.Total)
				}
				t.row(r.ID, r.Profile, strings.Join(conc, ","), fmt.Sprintf("%.1f", peak), fmt.Sprint(errorsOf(&r)), probes, r.DeployID, r.VLLMVersion)
			}
			return t.flush()
		},
	}
	addOutput(c, e)
	return c
}

func newBenchShowCmd(e *env) *cobra.Command {
	var svg string
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show a stored benchmark (an id, or a prefix naming one)",
		Example: `  vllmctl bench show 20261207T041500Z-medium
  vllmctl bench show 20261207T0415 --svg medium.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			r, err := benchStore(p).Load(args[0])
			if err != nil {
				return benchLoadErr(err)
			}
			if svg != "" {
				if err := atomicfile.WriteFile(svg, bench.Plot(r), 0o644); err != nil {
					return err
				}
			}
			return e.render(r, func(w io.Writer) error {
				printBench(w, r)
				return nil
			})
		},
	}
	c.Flags().StringVar(&svg, "svg", "", "also write the throughput-latency plot to this file")
	addOutput(c, e)
	return c
}

// benchLoadErr: an unknown, ambiguous or damaged id is a usage error (2).
func benchLoadErr(err error) error {
	return &exitError{code: ExitUsage, err: err}
}

func newBenchCompareCmd(e *env) *cobra.Command {
	o := bench.DefaultCompareOptions()
	var svg string
	var failWorse bool
	c := &cobra.Command{
		Use:   "compare A B",
		Short: "Compare two stored benchmarks: per metric B's change, a confidence interval and a verdict",
		Long: `Compare puts benchmark B beside A at each concurrency both measured. For each
metric (output tokens/s, requests/s, goodput, TTFT p50/p99, ITL p50, E2E
p50/p99, error rate) it gives B's relative change, its confidence interval
(percentile bootstrap over the requests of each run in 20 time blocks, so
slow spells of the machine widen it; seeded, so one comparison always gives
one answer) and a verdict: better or worse when the interval excludes 0 and
the change is at least --min-effect (twice that for p99s), else no
significant difference. A percentile gets "too few requests" instead when a
run has fewer requests than bound it without assuming a distribution (368
for a p99 at 95 %: a p99 of 100 requests is their slowest one, so a change in
it is one slow request); raise bench's --duration. Throughputs are estimated as concurrency × tokens (or requests) /
Σ latency, which in a closed loop equals the measured rate.

When both runs have probe results (bench --probe), the probes are paired by
id: pass rates, McNemar's exact test on the pairs that disagree, and the
probes that passed on A and fail on B.

Exit status: 0, or 1 with --fail-on-worse when a metric or the probes are worse.`,
		Example: `  vllmctl bench compare 20261207T041500Z-medium 20261207T043000Z-medium-next
  vllmctl bench compare 20261207T0415 20261207T0430 --fail-on-worse -o json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Confidence <= 0 || o.Confidence >= 1 || o.MinEffect < 0 || o.Resamples < 100 {
				return usageErr("--confidence must be in (0, 1), --min-effect at least 0, --resamples at least 100")
			}
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			store := benchStore(p)
			a, err := store.Load(args[0])
			if err != nil {
				return benchLoadErr(err)
			}
			b, err := store.Load(args[1])
			if err != nil {
				return benchLoadErr(err)
			}
			cmpr := bench.Compare(a, b, o)
			if svg != "" {
				if err := atomicfile.WriteFile(svg, bench.Plot(a, b), 0o644); err != nil {
					return err
				}
			}
			if e.output != formatTable {
				if err := writeData(e.stdout, e.output, cmpr); err != nil {
					return err
				}
			} else {
				printComparison(e.stdout, a, b, cmpr)
			}
			if failWorse && worse(cmpr) {
				return &exitError{code: ExitFindings}
			}
			return nil
		},
	}
	c.Flags().Float64Var(&o.Confidence, "confidence", o.Confidence, "confidence level of the intervals")
	c.Flags().Float64Var(&o.MinEffect, "min-effect", o.MinEffect, "smallest relative change that counts (0.03 = 3 %)")
	c.Flags().IntVar(&o.Resamples, "resamples", o.Resamples, "bootstrap resamples")
	c.Flags().Uint64Var(&o.Seed, "seed", o.Seed, "seed of the resampling")
	c.Flags().BoolVar(&failWorse, "fail-on-worse", false, "exit 1 when any metric or the probes are worse")
	c.Flags().StringVar(&svg, "svg", "", "write both runs' throughput-latency plot to this file")
	addOutput(c, e)
	return c
}

func worse(c bench.Comparison) bool {
	for _, m := range c.Metrics {
		if m.Verdict == bench.Worse {
			return true
		}
	}
	return c.Probes != nil && c.Probes.Verdict == bench.Worse
}

func pctOrDash(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100*v)
}

func printComparison(w io.Writer, a, b *bench.Result, c bench.Comparison) {
	fmt.Fprintf(w, "A %s  (%s, deploy %s, config %s, vLLM %s)\n", a.ID, a.Profile, a.DeployID, a.ConfigHash, a.VLLMVersion)
	fmt.Fprintf(w, "B %s  (%s, deploy %s, config %s, vLLM %s)\n\n", b.ID, b.Profile, b.DeployID, b.ConfigHash, b.VLLMVersion)
	t := newTable(w, "CONC", "METRIC", "A", "B", "CHANGE", fmt.Sprintf("%.0f%% CI", 100*c.Options.Confidence), "VERDICT")
	for _, m := range c.Metrics {
		t.row(fmt.Sprint(m.Concurrency), m.Metric+" ("+m.Unit+")", fmt.Sprintf("%.2f", m.A), fmt.Sprintf("%.2f", m.B), pctOrDash(m.Change),
			"["+pctOrDash(m.CI.Lo)+", "+pctOrDash(m.CI.Hi)+"]", string(m.Verdict))
	}
	_ = t.flush()
	if p := c.Probes; p != nil {
		fmt.Fprintf(w, "\nprobes: A %.0f %% passed, B %.0f %% (%d paired; passed on A only %d, on B only %d; McNemar p = %.4f): %s\n",
			100*p.A, 100*p.B, p.Paired, p.McNemar.OnlyA, p.McNemar.OnlyB, p.McNemar.P, p.Verdict)
		for _, r := range p.Regressions {
			fmt.Fprintf(w, "  regression %s: %s\n", r.ID, r.Reason)
		}
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

package sim

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/gpu"
)

// Options are the simulator's own settings, given as --sim-* flags mixed with
// vLLM's flags. Every field's default is in DefaultOptions.
type Options struct {
	GPU         string        // --sim-gpu: card name. Default: H100 80GB
	GPUMemory   string        // --sim-gpu-memory: per GPU, e.g. 24GiB. Default: from the card
	GPUs        int           // --sim-gpus: count. Default: tensor × pipeline parallel size
	GPUFree     string        // --sim-gpu-free: free memory per GPU at start. Default: all of it
	Version     string        // --sim-version: vLLM version printed and served. Default: 0.10.1.1
	PhaseTime   time.Duration // --sim-phase-time: each short phase. Default: 200ms
	LoadTime    time.Duration // --sim-load-time: weight loading. Default: 1s
	Download    time.Duration // --sim-download-time: silent download before loading. Default: 0
	CompileTime time.Duration // --sim-compile-time: torch.compile (not with --enforce-eager). Default: 500ms
	GraphTime   time.Duration // --sim-graph-time: CUDA graph capture (not with --enforce-eager). Default: 500ms
	TTFT        time.Duration // --sim-ttft: time to first token at no load. Default: 20ms
	ITL         time.Duration // --sim-itl: inter-token latency at no load. Default: 10ms
	PrefillTok  time.Duration // --sim-prefill-per-token: added to TTFT per prompt token. Default: 20µs
	MaxTokens   int           // --sim-default-max-tokens: when a request gives none. Default: 16
	Seed        int64         // --sim-seed: text generator seed. Default: 0
	FailAt      string        // --sim-fail-at PHASE: fail at this startup phase. Default: none
	FailError   string        // --sim-fail-error NAME: the error to fail with (oom, kv-too-small, no-kv-memory, free-memory, max-model-len, parser, crash). Default: crash
	StallAt     string        // --sim-stall-at PHASE: stop printing and hang at this phase. Default: none
	CrashAfterN int           // --sim-crash-after-requests: engine dies after N completions. Default: never
	CrashAfter  time.Duration // --sim-crash-after: engine dies this long after ready. Default: never
	DeathExit   time.Duration // --sim-death-exit: after engine death, the server exits after this. Default: 5s
	Wedge       bool          // --sim-wedge: decode hangs while /health says 200. Default: false
	AdminAddr   string        // --sim-admin-addr: extra listener for /sim/* that survives refusal. Default: none
}

// DefaultOptions returns the defaults: a fast startup of a few seconds and small latencies.
func DefaultOptions() Options {
	return Options{GPU: "H100 80GB", Version: "0.10.1.1", PhaseTime: 200 * time.Millisecond, LoadTime: time.Second,
		CompileTime: 500 * time.Millisecond, GraphTime: 500 * time.Millisecond, TTFT: 20 * time.Millisecond,
		ITL: 10 * time.Millisecond, PrefillTok: 20 * time.Microsecond, MaxTokens: 16, DeathExit: 5 * time.Second}
}

// phases are the startup phases --sim-fail-at and --sim-stall-at accept, in order.
var phases = []string{"args", "engine", "loading", "loaded", "compile", "profiling", "kv-cache", "graphs", "api-server"}

// flagSet declares every --sim-* flag on o.
func flagSet(o *Options, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vllm-sim", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.GPU, "sim-gpu", o.GPU, "simulated card, e.g. \"RTX 4090\"")
	fs.StringVar(&o.GPUMemory, "sim-gpu-memory", "", "memory of each simulated GPU, e.g. 24GiB")
	fs.IntVar(&o.GPUs, "sim-gpus", 0, "number of simulated GPUs (default: TP × PP)")
	fs.StringVar(&o.GPUFree, "sim-gpu-free", "", "free memory per GPU at start, e.g. 20GiB (default: all)")
	fs.StringVar(&o.Version, "sim-version", o.Version, "vLLM version to report")
	fs.DurationVar(&o.PhaseTime, "sim-phase-time", o.PhaseTime, "duration of each short startup phase")
	fs.DurationVar(&o.LoadTime, "sim-load-time", o.LoadTime, "weight loading time")
	fs.DurationVar(&o.Download, "sim-download-time", o.Download, "silent download before loading")
	fs.DurationVar(&o.CompileTime, "sim-compile-time", o.CompileTime, "torch.compile time")
	fs.DurationVar(&o.GraphTime, "sim-graph-time", o.GraphTime, "CUDA graph capture time")
	fs.DurationVar(&o.TTFT, "sim-ttft", o.TTFT, "time to first token at no load")
	fs.DurationVar(&o.ITL, "sim-itl", o.ITL, "inter-token latency at no load")
	fs.DurationVar(&o.PrefillTok, "sim-prefill-per-token", o.PrefillTok, "TTFT added per prompt token")
	fs.IntVar(&o.MaxTokens, "sim-default-max-tokens", o.MaxTokens, "tokens generated when a request sets no max_tokens")
	fs.Int64Var(&o.Seed, "sim-seed", 0, "text generator seed")
	fs.StringVar(&o.FailAt, "sim-fail-at", "", "fail at this startup `PHASE` ("+strings.Join(phases, ", ")+")")
	fs.StringVar(&o.FailError, "sim-fail-error", "crash", "error to fail with: oom, kv-too-small, no-kv-memory, free-memory, max-model-len, parser, crash")
	fs.StringVar(&o.StallAt, "sim-stall-at", "", "hang silently at this startup `PHASE` (as --sim-fail-at)")
	fs.IntVar(&o.CrashAfterN, "sim-crash-after-requests", 0, "engine dies after N completions")
	fs.DurationVar(&o.CrashAfter, "sim-crash-after", 0, "engine dies this long after ready")
	fs.DurationVar(&o.DeathExit, "sim-death-exit", o.DeathExit, "exit this long after engine death (VLLM_KEEP_ALIVE_ON_ENGINE_DEATH=1 keeps it up)")
	fs.BoolVar(&o.Wedge, "sim-wedge", false, "decode hangs while /health stays 200")
	fs.StringVar(&o.AdminAddr, "sim-admin-addr", "", "extra address serving /sim/* (survives a refused port)")
	return fs
}

// PrintFlags writes the --sim-* flags, one per entry with its type, usage and
// non-zero default, in the --name form the simulator accepts.
func PrintFlags(w io.Writer) {
	o := DefaultOptions()
	flagSet(&o, io.Discard).VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.DefValue {
		case "", "0", "0s", "false":
		default:
			if g, ok := f.Value.(flag.Getter); ok && isString(g.Get()) {
				fmt.Fprintf(w, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
		}
		fmt.Fprintln(w)
	})
}

func isString(v any) bool { _, ok := v.(string); return ok }

// SplitArgs separates --sim-* flags from vLLM's command line and parses them.
func SplitArgs(argv []string, errOut io.Writer) (Options, []string, error) {
	o := DefaultOptions()
	fs := flagSet(&o, errOut)
	var simArgs, rest []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "--sim-") {
			rest = append(rest, a)
			continue
		}
		simArgs = append(simArgs, a)
		name := strings.TrimPrefix(a, "--")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(argv) {
				simArgs = append(simArgs, argv[i+1])
				i++
			}
		}
	}
	if err := fs.Parse(simArgs); err != nil {
		return o, nil, err
	}
	if o.FailAt != "" && !validPhase(o.FailAt) || o.StallAt != "" && !validPhase(o.StallAt) {
		return o, nil, fmt.Errorf("--sim-fail-at/--sim-stall-at: unknown phase (use %s)", strings.Join(phases, ", "))
	}
	return o, rest, nil
}

func validPhase(p string) bool { return slices.Contains(phases, p) }

// inventory builds the simulated GPUs.
func (o Options) inventory(n int) ([]gpu.GPU, error) {
	if o.GPUs > 0 {
		n = o.GPUs
	}
	gpus, err := gpu.Declare(o.GPU, o.GPUMemory, n)
	if err != nil {
		return nil, err
	}
	if o.GPUFree != "" {
		free, err := gpu.ParseSize(o.GPUFree)
		if err != nil {
			return nil, err
		}
		for i := range gpus {
			gpus[i].FreeMiB = int64(free * 1024)
			gpus[i].UsedMiB = gpus[i].TotalMiB - gpus[i].FreeMiB
		}
	}
	return gpus, nil
}

package sim

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

// StartupError ends the simulated startup; Code is the process exit status
// (2 for argument errors as argparse, 1 for engine failures).
type StartupError struct {
	Code   int
	Reason string
}

func (e *StartupError) Error() string { return e.Reason }

// Engine is one simulated vLLM instance.
type Engine struct {
	opts    Options
	args    vllm.Args
	model   plan.Model
	est     plan.Result
	gpus    []gpu.GPU
	environ map[string]string
	now     func() time.Time

	mu      sync.Mutex
	out     io.Writer
	apiPID  int
	corePID int
}

// NewEngine prepares an engine from vLLM's argv (launcher optional) and options.
func NewEngine(opts Options, argv []string, environ map[string]string, out io.Writer) *Engine {
	e := &Engine{opts: opts, args: vllm.Parse(argv), environ: environ, out: out, now: time.Now}
	if v, ok := flagdb.ParseVersion(opts.Version); ok {
		e.args.AtRelease(v) // the release's defaults (--gpu-memory-utilization 0.92 from 0.20)
	}
	e.apiPID = os.Getpid()
	e.corePID = e.apiPID + 263
	if k := environ["VLLM_API_KEY"]; k != "" && e.args.APIKey == "" {
		e.args.APIKey = k
	}
	return e
}

// Args returns the parsed engine arguments.
func (e *Engine) Args() *vllm.Args { return &e.args }

func (e *Engine) ts() string { return e.now().UTC().Format("01-02 15:04:05") }

// logf writes one record in vLLM's format with the process prefix.
func (e *Engine) logf(proc, level, file, format string, a ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	prefix := ""
	if proc != "" {
		pid := e.corePID
		switch {
		case proc == "APIServer":
			pid = e.apiPID
		case strings.HasPrefix(proc, "VllmWorker TP"):
			pid = e.corePID + 10 + int(proc[len(proc)-1]-'0')
		}
		prefix = fmt.Sprintf("(%s pid=%d) ", proc, pid)
	}
	fmt.Fprintf(e.out, "%s%s %s [%s] %s\n", prefix, level, e.ts(), file, fmt.Sprintf(format, a...))
}

// raw writes a line without level and timestamp (tqdm bars, tracebacks, uvicorn).
func (e *Engine) raw(proc, line string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if proc != "" {
		pid := e.corePID
		if proc == "APIServer" {
			pid = e.apiPID
		}
		fmt.Fprintf(e.out, "(%s pid=%d) %s\n", proc, pid, line)
		return
	}
	fmt.Fprintln(e.out, line)
}

func (e *Engine) tp() int {
	return max(1, e.args.TensorParallelSize) * max(1, e.args.PipelineParallelSize)
}

// workers are the processes that load and profile: the engine core at TP 1,
// one VllmWorker per rank otherwise.
func (e *Engine) workers() []string {
	if e.tp() == 1 {
		return []string{"EngineCore_0"}
	}
	out := make([]string, e.tp())
	for i := range out {
		out[i] = fmt.Sprintf("VllmWorker TP%d", i)
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// phase handles the fault options at the start of a phase: stall or fail.
func (e *Engine) phase(ctx context.Context, name string) error {
	if e.opts.StallAt == name {
		<-ctx.Done() // silent forever, as a stuck download or a deadlock
		return ctx.Err()
	}
	if e.opts.FailAt == name {
		return e.fail(e.opts.FailError)
	}
	return ctx.Err()
}

// Start prints the startup sequence and returns when the engine is ready for
// the API server, or with a *StartupError.
func (e *Engine) Start(ctx context.Context) error {
	a := &e.args
	e.logf("", "INFO", "__init__.py:241", "Automatically detected platform cuda.")
	e.logf("APIServer", "INFO", "api_server.py:1805", "vLLM API server version %s", e.opts.Version)
	if err := e.argErrors(); err != nil {
		return err
	}
	e.logf("APIServer", "INFO", "utils.py:326", "non-default args: %s", e.nonDefault())
	if err := sleep(ctx, e.opts.PhaseTime); err != nil {
		return err
	}
	if err := e.phase(ctx, "args"); err != nil {
		return err
	}
	m, ok := plan.LookupModel(a.Model)
	if !ok {
		m = genericModel(a.Model)
	}
	e.model = m
	e.logf("APIServer", "INFO", "config.py:726", "Resolved architecture: %s", arch(m.ID))
	gpus, err := e.opts.inventory(e.tp())
	if err != nil {
		return &StartupError{Code: 2, Reason: err.Error()}
	}
	e.gpus = gpus
	e.est = plan.Estimate(plan.Input{Model: m, Args: *a, GPUs: gpus, Version: e.opts.Version, Environ: e.environ, Live: true})
	if e.est.Verdict == plan.TooLong {
		return e.fail("max-model-len")
	}
	e.logf("APIServer", "INFO", "config.py:1708", "Using max model len %d", e.est.MaxModelLen)
	e.logf("APIServer", "INFO", "config.py:2468", "Chunked prefill is enabled with max_num_batched_tokens=%d.", e.est.BatchedTokens)
	if err := e.parserErrors(); err != nil {
		return err
	}
	// Engine core.
	e.logf("EngineCore_0", "INFO", "core.py:636", "Waiting for init message from front-end.")
	if err := sleep(ctx, e.opts.PhaseTime); err != nil {
		return err
	}
	e.logf("EngineCore_0", "INFO", "core.py:74", "Initializing a V1 LLM engine (v%s) with config: model='%s', speculative_config=None, tokenizer='%s', dtype=%s, max_seq_len=%d, tensor_parallel_size=%d, pipeline_parallel_size=%d, quantization=%s, enforce_eager=%s, kv_cache_dtype=%s, served_model_name=%s, enable_prefix_caching=True, chunked_prefill_enabled=True",
		e.opts.Version, a.Model, a.Model, dtypeName(a.DType), e.est.MaxModelLen, max(1, a.TensorParallelSize), max(1, a.PipelineParallelSize),
		pyNone(a.Quantization), pyBool(a.EnforceEager), a.KVCacheDType, a.ServedNames()[0])
	if err := e.phase(ctx, "engine"); err != nil {
		return err
	}
	if e.est.Verdict == plan.FreeMemory {
		return e.fail("free-memory")
	}
	if e.tp() > 1 {
		e.logf("VllmWorker TP0", "INFO", "pynccl.py:70", "vLLM is using nccl==2.26.2")
		for i, w := range e.workers() {
			e.logf(w, "INFO", "parallel_state.py:1134", "rank %d in world size %d is assigned as DP rank 0, PP rank 0, TP rank %d, EP rank %d", i, e.tp(), i, i)
		}
	}
	// Loading.
	if err := e.phase(ctx, "loading"); err != nil {
		return err
	}
	for _, w := range e.workers() {
		e.logf(w, "INFO", "gpu_model_runner.py:1953", "Starting to load model %s...", a.Model)
		e.logf(w, "INFO", "cuda.py:328", "Using Flash Attention backend on V1 engine.")
	}
	e.logf(e.workers()[0], "INFO", "weight_utils.py:296", "Using model weights format ['*.safetensors']")
	if e.opts.Download > 0 {
		if err := sleep(ctx, e.opts.Download); err != nil {
			return err
		}
		e.logf(e.workers()[0], "INFO", "weight_utils.py:312", "Time spent downloading weights for %s: %.6f seconds", a.Model, e.opts.Download.Seconds())
	}
	shards := max(1, int(math.Ceil(m.ParamsB/5)))
	for s := 1; s <= shards; s++ {
		if err := sleep(ctx, e.opts.LoadTime/time.Duration(shards)); err != nil {
			return err
		}
		e.raw(e.workers()[0], fmt.Sprintf("Loading safetensors checkpoint shards: %3d%% Completed | %d/%d [00:%02d<00:00,  1.50it/s]", 100*s/shards, s, shards, int(e.opts.LoadTime.Seconds())))
	}
	if e.est.Verdict == plan.WeightsTooLarge {
		return e.fail("oom")
	}
	weights := 0.0
	if len(e.est.Ranks) > 0 {
		weights = e.est.Ranks[0].Weights
	}
	for _, w := range e.workers() {
		e.logf(w, "INFO", "default_loader.py:262", "Loading weights took %.2f seconds", e.opts.LoadTime.Seconds())
	}
	for _, w := range e.workers() {
		e.logf(w, "INFO", "gpu_model_runner.py:2007", "Model loading took %.4f GiB and %.6f seconds", weights, e.opts.LoadTime.Seconds()+0.06)
	}
	if err := e.phase(ctx, "loaded"); err != nil {
		return err
	}
	// Compile.
	if !a.EnforceEager {
		if err := e.phase(ctx, "compile"); err != nil {
			return err
		}
		for _, w := range e.workers() {
			e.logf(w, "INFO", "backends.py:548", "Using cache directory: /root/.cache/vllm/torch_compile_cache/3f2a9c/rank_%s_0/backbone for vLLM's torch.compile", w[len(w)-1:])
		}
		if err := sleep(ctx, e.opts.CompileTime); err != nil {
			return err
		}
		for _, w := range e.workers() {
			e.logf(w, "INFO", "monitor.py:34", "torch.compile takes %.2f s in total", e.opts.CompileTime.Seconds())
		}
	}
	// Profiling.
	if err := e.phase(ctx, "profiling"); err != nil {
		return err
	}
	if err := sleep(ctx, e.opts.PhaseTime); err != nil {
		return err
	}
	for i, w := range e.workers() {
		kv := 0.0
		if i < len(e.est.Ranks) {
			kv = e.est.Ranks[i].KV - 0.01*float64(i) // ranks differ by hundredths (FACTS §5.4)
		}
		e.logf(w, "INFO", "gpu_worker.py:276", "Available KV cache memory: %.2f GiB", kv)
	}
	if e.est.Verdict == plan.NoKVMemory {
		return e.fail("no-kv-memory")
	}
	if e.est.Verdict == plan.KVTooSmall {
		return e.fail("kv-too-small")
	}
	if err := e.phase(ctx, "kv-cache"); err != nil {
		return err
	}
	e.logf("EngineCore_0", "INFO", "kv_cache_utils.py:849", "GPU KV cache size: %s tokens", vllm.Commas(e.est.KVTokens))
	e.logf("EngineCore_0", "INFO", "kv_cache_utils.py:853", "Maximum concurrency for %s tokens per request: %.2fx", vllm.Commas(e.est.MaxModelLen), e.est.Concurrency)
	// Graphs.
	if !a.EnforceEager {
		if err := e.phase(ctx, "graphs"); err != nil {
			return err
		}
		if err := sleep(ctx, e.opts.GraphTime); err != nil {
			return err
		}
		e.raw(e.workers()[0], "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:02<00:00, 25.93it/s]")
		g := 0.0
		if len(e.est.Ranks) > 0 {
			g = e.est.Ranks[0].Graphs
		}
		for _, w := range e.workers() {
			e.logf(w, "INFO", "gpu_model_runner.py:2708", "Graph capturing finished in %d secs, took %.2f GiB", int(math.Max(1, e.opts.GraphTime.Seconds())), g)
		}
	}
	e.logf("EngineCore_0", "INFO", "core.py:214", "init engine (profile, create kv cache, warmup model) took %.2f seconds", e.startupSeconds())
	e.logf("APIServer", "INFO", "loggers.py:142", "Engine 000: vllm cache_config_info with initialization after num_gpu_blocks is: %d", e.est.KVBlocks)
	e.logf("APIServer", "INFO", "api_server.py:1611", "Supported_tasks: ['generate']")
	return e.phase(ctx, "api-server")
}

func (e *Engine) startupSeconds() float64 {
	o := e.opts
	d := 4*o.PhaseTime + o.LoadTime + o.Download
	if !e.args.EnforceEager {
		d += o.CompileTime + o.GraphTime
	}
	return d.Seconds()
}

// argErrors reproduces argparse: usage, one error line, exit 2.
func (e *Engine) argErrors() error {
	for _, p := range e.args.Problems {
		var msg string
		switch p.Kind {
		case vllm.MissingValue:
			if arg, ok := e.args.Lookup(p.Flag); ok && len(arg.Values) > 0 {
				continue // "--flag=" passes an empty string, which argparse accepts
			}
			msg = fmt.Sprintf("argument --%s: expected at least one argument", p.Flag)
		case vllm.UnknownFlag, vllm.SplitItem, vllm.StrayArgument:
			var bad []string
			for _, q := range e.args.Problems {
				if q.Kind == vllm.UnknownFlag || q.Kind == vllm.SplitItem || q.Kind == vllm.StrayArgument {
					bad = append(bad, e.argvToken(q))
				}
			}
			msg = "unrecognized arguments: " + strings.Join(bad, " ")
		case vllm.BadValue:
			msg = fmt.Sprintf("argument --%s: invalid value", p.Flag)
		default:
			continue
		}
		e.raw("", "usage: vllm serve [model_tag] [options]")
		e.raw("", "vllm serve: error: "+msg)
		return &StartupError{Code: 2, Reason: msg}
	}
	for _, arg := range e.args.List {
		if f, _, ok := vllm.LookupFlag(arg.Name); ok && f.Status == vllm.Removed {
			e.raw("", "usage: vllm serve [model_tag] [options]")
			e.raw("", "vllm: error: unrecognized arguments: "+arg.Written)
			return &StartupError{Code: 2, Reason: "unrecognized arguments: " + arg.Written}
		}
	}
	return nil
}

func (e *Engine) argvToken(p vllm.Problem) string {
	for _, arg := range e.args.List {
		if arg.Index == p.Index {
			return arg.Written
		}
	}
	if p.Flag != "" {
		return "--" + p.Flag
	}
	return "?"
}

// parserErrors are the front end's registry checks.
func (e *Engine) parserErrors() error {
	a := &e.args
	if a.EnableAutoToolChoice && a.ToolCallParser == "" {
		e.raw("APIServer", "TypeError: Error: --enable-auto-tool-choice requires --tool-call-parser")
		return &StartupError{Code: 1, Reason: "--enable-auto-tool-choice requires --tool-call-parser"}
	}
	if a.ToolCallParser != "" && !slices.Contains(vllm.ToolCallParsers, a.ToolCallParser) && !a.IsSet("tool-parser-plugin") {
		return e.fail("parser")
	}
	if a.ReasoningParser != "" && !slices.Contains(vllm.ReasoningParsers, a.ReasoningParser) && !a.IsSet("reasoning-parser-plugin") {
		e.raw("APIServer", fmt.Sprintf("KeyError: 'invalid reasoning parser: %s (chose from { %s })'", a.ReasoningParser, strings.Join(vllm.ReasoningParsers, ", ")))
		return &StartupError{Code: 1, Reason: "invalid reasoning parser"}
	}
	return nil
}

// fail prints a real fatal error, the engine-core failure and the front end's
// wrapper, and returns the exit.
func (e *Engine) fail(name string) error {
	a := &e.args
	r0 := plan.Rank{}
	if len(e.est.Ranks) > 0 {
		r0 = e.est.Ranks[0]
	}
	total := r0.TotalGiB
	if total == 0 && len(e.gpus) > 0 {
		total = e.gpus[0].TotalGiB()
	}
	core := "EngineCore_0"
	var root []string
	frontEnd := false
	switch name {
	case "free-memory":
		free := total
		if len(e.gpus) > 0 {
			free = e.gpus[0].FreeGiB()
		}
		root = []string{fmt.Sprintf("ValueError: Free memory on device (%.2f/%.2f GiB) on startup is less than desired GPU memory utilization (%.2f, %.2f GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.",
			free, total, a.GPUMemoryUtilization, total*a.GPUMemoryUtilization)}
	case "oom":
		e.logf(e.workers()[0], "ERROR", "gpu_model_runner.py:1984", "Failed to load model - not enough GPU memory. Try lowering --gpu-memory-utilization to free memory for weights, increasing --tensor-parallel-size, or using --quantization. See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more tips. (original error: CUDA out of memory. Tried to allocate 260.00 MiB. GPU 0 has a total capacity of %.2f GiB of which 112.06 MiB is free. Including non-PyTorch memory, this process has %.2f GiB memory in use.)", total, total-0.11)
		root = []string{fmt.Sprintf("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 260.00 MiB. GPU 0 has a total capacity of %.2f GiB of which 112.06 MiB is free. Including non-PyTorch memory, this process has %.2f GiB memory in use.", total, total-0.11)}
	case "no-kv-memory":
		root = []string{"ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine."}
	case "kv-too-small":
		avail := r0.KV - plan.Overheads.RankSpreadGiB*float64(e.tp()-1)
		est := e.est.MaxFittingLen
		msg := fmt.Sprintf("ValueError: To serve at least one request with the models's max seq len (%d), (%.2f GiB KV cache is needed, which is larger than the available KV cache memory (%.2f GiB).", e.est.MaxModelLen, e.est.NeedGiB, avail)
		if est > 0 {
			msg += fmt.Sprintf(" Based on the available memory, the estimated maximum model length is %d.", est)
		}
		root = []string{msg + " Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."}
	case "max-model-len":
		frontEnd = true
		root = []string{fmt.Sprintf("ValueError: User-specified max_model_len (%d) is greater than the derived max_model_len (max_position_embeddings=%d or model_max_length=None in model's config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model uses relative position encoding (RoPE), positions exceeding derived_max_model_len lead to nan. If the model uses absolute position encoding, positions exceeding derived_max_model_len will cause a CUDA array out-of-bounds error.",
			e.est.MaxModelLen, e.model.MaxPositions)}
	case "parser":
		frontEnd = true
		root = []string{fmt.Sprintf("KeyError: 'invalid tool call parser: %s (chose from { %s })'", a.ToolCallParser, strings.Join(vllm.ToolCallParsers, ", "))}
	default: // crash: a generic engine-core exception
		root = []string{"RuntimeError: simulated engine crash (--sim-fail-error crash)"}
	}
	if frontEnd {
		e.frontEndTraceback(root)
		return &StartupError{Code: 1, Reason: name}
	}
	e.logf(core, "ERROR", "core.py:700", "EngineCore failed to start.")
	for _, l := range []string{"Traceback (most recent call last):", `  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 691, in run_engine_core`, "    engine_core = EngineCoreProc(*args, **kwargs)"} {
		e.logf(core, "ERROR", "core.py:700", "%s", l)
	}
	for _, l := range root {
		e.logf(core, "ERROR", "core.py:700", "%s", l)
	}
	e.raw(core, "Process EngineCore_0:")
	e.frontEndTraceback([]string{"RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}"})
	return &StartupError{Code: 1, Reason: name}
}

// frontEndTraceback prints the front end's ~40-line traceback ending in last.
func (e *Engine) frontEndTraceback(last []string) {
	e.raw("APIServer", "Traceback (most recent call last):")
	frames := []string{"/usr/local/bin/vllm", "vllm/entrypoints/cli/main.py", "vllm/entrypoints/cli/serve.py", "uvloop/__init__.py", "asyncio/runners.py",
		"vllm/entrypoints/openai/api_server.py", "contextlib.py", "vllm/entrypoints/openai/api_server.py", "vllm/v1/engine/async_llm.py",
		"vllm/v1/engine/core_client.py", "vllm/v1/engine/core_client.py", "vllm/v1/engine/utils.py", "vllm/v1/engine/utils.py"}
	for i, f := range frames {
		e.raw("APIServer", fmt.Sprintf(`  File "/usr/local/lib/python3.12/dist-packages/%s", line %d, in <frame %d>`, f, 100+37*i, i))
		e.raw("APIServer", "    return await main")
		e.raw("APIServer", "           ^^^^^^^^^^")
	}
	for _, l := range last {
		e.raw("APIServer", l)
	}
}

func (e *Engine) nonDefault() string {
	var parts []string
	for _, arg := range e.args.List {
		key := strings.ReplaceAll(arg.Name, "-", "_")
		switch {
		case len(arg.Values) == 0:
			parts = append(parts, fmt.Sprintf("'%s': True", key))
		case vllm.IsSecretFlag(arg.Name):
			parts = append(parts, fmt.Sprintf("'%s': ['***']", key))
		case len(arg.Values) == 1:
			parts = append(parts, fmt.Sprintf("'%s': %s", key, pyValue(arg.Values[0])))
		default:
			parts = append(parts, fmt.Sprintf("'%s': %s", key, pyList(arg.Values)))
		}
	}
	if e.args.Model != "" && !e.args.IsSet("model") {
		parts = append([]string{fmt.Sprintf("'model': '%s'", e.args.Model)}, parts...)
	}
	sort.Strings(parts[:0])
	return "{" + strings.Join(parts, ", ") + "}"
}

func pyValue(v string) string {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	return "'" + v + "'"
}

func pyList(vs []string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "'" + v + "'"
	}
	return "[" + strings.Join(out, ", ") + "]"
}

func pyNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func dtypeName(d string) string {
	if d == "auto" || d == "" {
		return "torch.bfloat16"
	}
	if d == "half" || d == "float16" {
		return "torch.float16"
	}
	return "torch." + d
}

func arch(id string) string {
	l := strings.ToLower(id)
	switch {
	case strings.Contains(l, "qwen3") && strings.Contains(l, "-a"):
		return "Qwen3MoeForCausalLM"
	case strings.Contains(l, "qwen3"):
		return "Qwen3ForCausalLM"
	case strings.Contains(l, "qwen"):
		return "Qwen2ForCausalLM"
	case strings.Contains(l, "llama"):
		return "LlamaForCausalLM"
	case strings.Contains(l, "mistral"):
		return "MistralForCausalLM"
	}
	return "LlamaForCausalLM"
}

// genericModel gives an unknown model a dense shape scaled from its name's size
// (1B when the name has none), so the simulator still starts.
func genericModel(id string) plan.Model {
	b, ok := vllm.ParamsBillion(id)
	if !ok {
		b = 1
	}
	scale := math.Sqrt(b / 8)
	return plan.Model{ID: id, Layers: max(8, int(32*scale)), Heads: 32, KVHeads: 8, HeadDim: 128,
		Hidden: max(1024, int(4096*scale)/128*128), Intermediate: max(2048, int(14336*scale)/128*128), Vocab: 128256,
		MaxPositions: 131072, ParamsB: b, Kind: "dense", Source: "generic"}
}

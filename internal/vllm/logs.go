package vllm

import (
	"regexp"
	"strconv"
	"strings"
)

// Phase is a step of vLLM's startup, in order (FACTS.md §3.2).
type Phase string

// Startup phases, in the order vLLM goes through them.
const (
	PhaseStart     Phase = "start"      // platform detected, version line
	PhaseArgs      Phase = "args"       // non-default args, model config resolved
	PhaseEngine    Phase = "engine"     // engine core initialising
	PhaseLoading   Phase = "loading"    // weights loading (and downloading)
	PhaseLoaded    Phase = "loaded"     // "Model loading took X GiB and Y seconds"
	PhaseCompile   Phase = "compile"    // torch.compile
	PhaseProfiling Phase = "profiling"  // memory profiling: available KV cache memory
	PhaseKVCache   Phase = "kv-cache"   // GPU KV cache size and concurrency
	PhaseGraphs    Phase = "graphs"     // CUDA graph capture
	PhaseAPIServer Phase = "api-server" // "Starting vLLM API server" — the port opens
	PhaseReady     Phase = "ready"      // "Application startup complete."
)

// Phases lists the startup phases in order.
var Phases = []Phase{PhaseStart, PhaseArgs, PhaseEngine, PhaseLoading, PhaseLoaded, PhaseCompile, PhaseProfiling, PhaseKVCache, PhaseGraphs, PhaseAPIServer, PhaseReady}

// LineKind classifies a log line.
type LineKind string

// Line kinds.
const (
	KindPhase   LineKind = "phase"
	KindFatal   LineKind = "fatal"
	KindWarning LineKind = "warning"
	KindOther   LineKind = "other"
)

// LineInfo is what a log line tells.
type LineInfo struct {
	Kind    LineKind
	Phase   Phase              // for phase lines
	Fatal   string             // signature name for fatal lines (see Fatals)
	Values  map[string]float64 // numbers read from the line: gib, seconds, tokens, concurrency, max_len, ...
	Process string             // "APIServer", "EngineCore_0", "VllmWorker TP1", ... "" when unprefixed
	Message string             // the line without ANSI escapes, prefix, level and timestamp
}

type phasePattern struct {
	phase  Phase
	re     *regexp.Regexp
	values []string // names of the numeric submatches, in order
}

// Matched on the message part of a line. Numbers keep their thousands separators
// and are cleaned when read. Checked against vLLM 0.10.1.1 lines and the later
// forms FACTS.md §3 lists.
var phasePatterns = []phasePattern{
	{PhaseStart, regexp.MustCompile(`Automatically detected platform`), nil},
	{PhaseStart, regexp.MustCompile(`vLLM API server version (\S+)`), nil},
	{PhaseArgs, regexp.MustCompile(`non-default args: |args: Namespace\(`), nil},
	{PhaseArgs, regexp.MustCompile(`Using max model len ([0-9]+)`), []string{"max_len"}},
	{PhaseEngine, regexp.MustCompile(`Initializing a V1 LLM engine|Waiting for init message from front-end`), nil},
	{PhaseLoading, regexp.MustCompile(`Starting to load model|Loading model from scratch|Using model weights format`), nil},
	{PhaseLoading, regexp.MustCompile(`Time spent downloading weights for .*: ([0-9.]+) seconds`), []string{"seconds"}},
	{PhaseLoading, regexp.MustCompile(`Loading safetensors checkpoint shards:\s+([0-9]+)% Completed`), []string{"percent"}},
	{PhaseLoading, regexp.MustCompile(`Loading weights took ([0-9.]+) seconds`), []string{"seconds"}},
	{PhaseLoaded, regexp.MustCompile(`Model loading took ([0-9.]+) (?:GiB|GB)(?: memory)? and ([0-9.]+) seconds`), []string{"gib", "seconds"}},
	{PhaseLoaded, regexp.MustCompile(`Loading model weights took ([0-9.]+) GB`), []string{"gib"}},
	{PhaseCompile, regexp.MustCompile(`for vLLM's torch.compile|Dynamo bytecode transform time|torch.compile (?:takes|took) ([0-9.]+) s in total|Compiling a graph for`), []string{"seconds"}},
	{PhaseProfiling, regexp.MustCompile(`Available KV cache memory: (-?[0-9.]+) GiB`), []string{"gib"}},
	{PhaseProfiling, regexp.MustCompile(`Memory profiling takes|the rest of the memory reserved for KV Cache is (-?[0-9.]+) ?GiB`), []string{"gib"}},
	{PhaseKVCache, regexp.MustCompile(`GPU KV cache size: ([0-9,]+) tokens`), []string{"tokens"}},
	{PhaseKVCache, regexp.MustCompile(`Maximum concurrency for ([0-9,]+) tokens per request: ([0-9.,]+)x`), []string{"max_len", "concurrency"}},
	{PhaseKVCache, regexp.MustCompile(`# (?:GPU|CUDA|cuda) blocks: ([0-9]+)`), []string{"blocks"}},
	{PhaseGraphs, regexp.MustCompile(`Capturing CUDA graphs|Capturing cudagraphs`), nil},
	{PhaseGraphs, regexp.MustCompile(`Graph capturing finished in ([0-9.]+) secs?, took ([0-9.]+) GiB`), []string{"seconds", "gib"}},
	{PhaseGraphs, regexp.MustCompile(`init engine \(profile, create kv cache, warmup model\) took ([0-9.]+)`), []string{"seconds"}},
	{PhaseAPIServer, regexp.MustCompile(`Starting vLLM (?:API )?server(?: [0-9]+)? on (\S+)`), nil},
	{PhaseReady, regexp.MustCompile(`Application startup complete\.`), nil},
}

// Fatal is a known fatal startup error: its signature, what it means and what to change.
type Fatal struct {
	Name      string
	re        *regexp.Regexp
	values    []string
	Diagnosis string
	Fix       string
}

// Fatals are the root-cause signatures of FACTS.md §4, most specific first.
// The generic wrapper ("Engine core initialization failed") is last: the root
// cause above it wins.
var Fatals = []Fatal{
	{Name: "free-memory", re: regexp.MustCompile(`Free memory on device.*\(([0-9.]+)/([0-9.]+) GiB\) on startup is less than desired GPU memory utilization \(([0-9.]+), ([0-9.]+) GiB\)`),
		values:    []string{"free_gib", "total_gib", "util", "requested_gib"},
		Diagnosis: "the GPU has less free memory than --gpu-memory-utilization × total: another process (a leftover worker, a desktop, another engine) holds memory",
		Fix:       "lower --gpu-memory-utilization below free/total, or free the GPU (vllmctl down the other profile)"},
	{Name: "kv-too-small", re: regexp.MustCompile(`To serve at least one request with the models?'?s max seq len \(([0-9]+)\).*\(([0-9.]+) GiB KV cache is needed, which is larger than the available KV cache memory \(([0-9.]+) GiB\)(?:\. Based on the available memory, the estimated maximum model length is ([0-9]+))?`),
		values:    []string{"max_len", "need_gib", "avail_gib", "est_max_len"},
		Diagnosis: "the KV cache cannot hold one request of --max-model-len",
		Fix:       "lower --max-model-len, raise --gpu-memory-utilization, or use --kv-cache-dtype fp8"},
	{Name: "kv-too-small", re: regexp.MustCompile(`The model's max seq len \(([0-9]+)\) is larger than the maximum number of tokens that can be stored in KV cache \(([0-9]+)\)`),
		values:    []string{"max_len", "est_max_len"},
		Diagnosis: "the KV cache cannot hold one request of --max-model-len",
		Fix:       "lower --max-model-len, raise --gpu-memory-utilization, or use --kv-cache-dtype fp8"},
	{Name: "no-kv-memory", re: regexp.MustCompile(`No available memory for the cache blocks`),
		Diagnosis: "weights, activations and non-torch memory use the whole budget: nothing is left for the KV cache",
		Fix:       "raise --gpu-memory-utilization (if the GPU has room), lower --max-num-batched-tokens, quantize, or raise --tensor-parallel-size"},
	{Name: "cuda-oom", re: regexp.MustCompile(`Failed to load model - not enough GPU memory|(?:torch\.(?:cuda\.)?)?OutOfMemoryError: CUDA out of memory`),
		Diagnosis: "CUDA ran out of memory: during loading the weights do not fit on each GPU",
		Fix:       "raise --tensor-parallel-size, use a quantized checkpoint, or free the GPU; during graph capture: --enforce-eager or lower utilization"},
	{Name: "max-model-len", re: regexp.MustCompile(`User-specified max_model_len \(([0-9]+)\) is greater than the derived max_model_len \((?:max_position_embeddings|None)=([0-9]+)`),
		values:    []string{"max_len", "derived"},
		Diagnosis: "--max-model-len is above what the model's config allows",
		Fix:       "lower --max-model-len, or declare --rope-scaling for a model that supports it"},
	{Name: "quantization", re: regexp.MustCompile(`Quantization method specified in the model config \((\w+)\) does not match|Unknown quantization method`),
		Diagnosis: "--quantization contradicts the checkpoint",
		Fix:       "leave --quantization out (vLLM reads it from the checkpoint) or give the checkpoint's method"},
	{Name: "parser", re: regexp.MustCompile(`invalid (?:tool call|reasoning) parser: (\S+)|(?:Reasoning|Tool) parser '[^']+' not found`),
		Diagnosis: "the tool-call or reasoning parser is not in this image's registry",
		Fix:       "use a name from the image's list (the error shows it), e.g. hermes"},
	{Name: "tool-choice", re: regexp.MustCompile(`--enable-auto-tool-choice requires --tool-call-parser`),
		Diagnosis: "--enable-auto-tool-choice without a parser", Fix: "add --tool-call-parser hermes (or your model's parser)"},
	{Name: "argument", re: regexp.MustCompile(`error: argument (--[\w-]+): expected (?:at least )?one argument`),
		Diagnosis: "a flag has no value: usually a variable that interpolated to nothing",
		Fix:       "set the variable in the project's .env (vllmctl check finds it)"},
	{Name: "argument", re: regexp.MustCompile(`error: unrecognized arguments: (.+)`),
		Diagnosis: "vLLM does not know a flag (removed, misspelt, or a list item holding flag and value)",
		Fix:       "remove or fix the flag (vllmctl check names it)"},
	{Name: "heads-tp", re: regexp.MustCompile(`Total number of attention heads \(([0-9]+)\) must be divisible by tensor parallel size \(([0-9]+)\)`),
		values: []string{"heads", "tp"}, Diagnosis: "the tensor-parallel size does not divide the attention heads", Fix: "choose a tensor-parallel size that divides the head count"},
	{Name: "tokenizer", re: regexp.MustCompile(`Failed to load the tokenizer`),
		Diagnosis: "the tokenizer needs custom code", Fix: "add --trust-remote-code if you trust the repository"},
	{Name: "engine-dead", re: regexp.MustCompile(`EngineDeadError`),
		Diagnosis: "the engine core died while serving", Fix: "read the lines above for the cause; restart the profile"},
	{Name: "engine-failed", re: regexp.MustCompile(`Engine core initialization failed|EngineCore failed to start`),
		Diagnosis: "the engine core failed to start (root cause above)", Fix: "see the root cause in the log lines above"},
}

var warnPattern = regexp.MustCompile(`^WARNING|\bWARNING \d\d-\d\d`)

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// Line format: [compose prefix "svc  | "] [(Process pid=N) ] LEVEL MM-DD HH:MM:SS [file.py:N] message
var linePrefix = regexp.MustCompile(`^(?:[\w.-]+\s+\|\s)?(?:\((\w[\w ]*?) pid=\d+\)\s+)?(?:(INFO|WARNING|ERROR|DEBUG|CRITICAL)\s+\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+\[[^\]]+\]\s+)?`)

// ClassifyLine reads one log line (ANSI colours, compose and process prefixes
// allowed) and tells the phase it marks, the fatal error it reports, or that it
// is a warning. Matching uses stable fragments only, never broad words such as
// "failed" or "CUDA" alone.
func ClassifyLine(line string) LineInfo {
	line = ansi.ReplaceAllString(strings.TrimRight(line, "\r\n"), "")
	if i := strings.LastIndexByte(line, '\r'); i >= 0 { // tqdm redraws: keep the last state
		line = line[i+1:]
	}
	info := LineInfo{Kind: KindOther}
	m := linePrefix.FindStringSubmatch(line)
	level := ""
	if m != nil {
		info.Process, level = m[1], m[2]
		line = line[len(m[0]):]
	}
	info.Message = line
	for _, f := range Fatals {
		if sm := f.re.FindStringSubmatch(line); sm != nil {
			info.Kind, info.Fatal = KindFatal, f.Name
			info.Values = values(f.values, sm[1:])
			return info
		}
	}
	for _, p := range phasePatterns {
		if sm := p.re.FindStringSubmatch(line); sm != nil {
			info.Kind, info.Phase = KindPhase, p.phase
			info.Values = values(p.values, sm[1:])
			return info
		}
	}
	if level == "WARNING" || warnPattern.MatchString(line) {
		info.Kind = KindWarning
	}
	return info
}

func values(names, subs []string) map[string]float64 {
	var out map[string]float64
	for i, n := range names {
		if i >= len(subs) || subs[i] == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(subs[i], ",", ""), 64)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]float64{}
		}
		out[n] = f
	}
	return out
}

// FatalByName returns the first signature with that name.
func FatalByName(name string) (Fatal, bool) {
	for _, f := range Fatals {
		if f.Name == name {
			return f, true
		}
	}
	return Fatal{}, false
}

// PhaseIndex is a phase's position in Phases, or -1.
func PhaseIndex(p Phase) int {
	for i, q := range Phases {
		if q == p {
			return i
		}
	}
	return -1
}

// Commas formats a count the way vLLM's V1 logs do: 464848 → "464,848".
func Commas(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

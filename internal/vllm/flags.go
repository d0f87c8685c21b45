package vllm

import (
	"sort"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

// Kind says how a flag takes its value.
type Kind int

const (
	// Value flags take exactly one value (`--port 8000`, `--port=8000`).
	Value Kind = iota
	// Bool flags take no value (`--enforce-eager`); `--no-<name>` negates when Negatable.
	Bool
	// Multi flags take one or more values (`--served-model-name a b`).
	Multi
)

// Status marks flags whose presence is suspicious in a V1 engine.
type Status int

const (
	// Current flags do what their name says.
	Current Status = iota
	// NoOp flags are accepted but change nothing on V1 (the behaviour is already the default).
	NoOp
	// Deprecated flags still work but are going away.
	Deprecated
	// Removed flags make vLLM exit with `unrecognized arguments`.
	Removed
)

// Flag describes one `vllm serve` flag.
type Flag struct {
	Name      string // canonical, without leading dashes, words joined by '-'
	Kind      Kind
	Default   string // the engine's default, "" when none
	Status    Status
	Note      string // why the status, and what to use instead
	Secret    bool   // its value must never be printed
	Negatable bool   // accepts --no-<name>
}

// flagTable lists the vLLM 0.10/0.11 serve flags vllmctl knows. Defaults are those of
// the V1 engine. Default: see each row.
var flagTable = []Flag{
	{Name: "model", Default: "Qwen/Qwen3-0.6B"},
	{Name: "served-model-name", Kind: Multi},
	{Name: "host"},
	{Name: "port", Default: "8000"},
	{Name: "uds"},
	{Name: "uvicorn-log-level", Default: "info"},
	{Name: "disable-uvicorn-access-log", Kind: Bool},
	{Name: "allow-credentials", Kind: Bool},
	{Name: "allowed-origins"},
	{Name: "allowed-methods"},
	{Name: "allowed-headers"},
	{Name: "api-key", Kind: Multi, Secret: true},
	{Name: "lora-modules", Kind: Multi},
	{Name: "chat-template"},
	{Name: "chat-template-content-format", Default: "auto"},
	{Name: "trust-request-chat-template", Kind: Bool},
	{Name: "response-role", Default: "assistant"},
	{Name: "ssl-keyfile"},
	{Name: "ssl-certfile"},
	{Name: "ssl-ca-certs"},
	{Name: "enable-ssl-refresh", Kind: Bool},
	{Name: "ssl-cert-reqs"},
	{Name: "root-path"},
	{Name: "middleware", Kind: Multi},
	{Name: "return-tokens-as-token-ids", Kind: Bool},
	{Name: "disable-frontend-multiprocessing", Kind: Bool},
	{Name: "enable-request-id-headers", Kind: Bool},
	{Name: "enable-auto-tool-choice", Kind: Bool},
	{Name: "exclude-tools-when-tool-choice-none", Kind: Bool},
	{Name: "tool-call-parser"},
	{Name: "tool-parser-plugin"},
	{Name: "tool-server"},
	{Name: "log-config-file"},
	{Name: "max-log-len"},
	{Name: "disable-fastapi-docs", Kind: Bool},
	{Name: "enable-prompt-tokens-details", Kind: Bool},
	{Name: "enable-server-load-tracking", Kind: Bool},
	{Name: "enable-force-include-usage", Kind: Bool},
	{Name: "enable-tokenizer-info-endpoint", Kind: Bool},
	{Name: "enable-log-outputs", Kind: Bool},
	{Name: "h11-max-incomplete-event-size"},
	{Name: "h11-max-header-count"},
	{Name: "log-error-stack", Kind: Bool},
	{Name: "headless", Kind: Bool},
	{Name: "api-server-count", Default: "1"},
	{Name: "config"},
	{Name: "runner", Default: "auto"},
	{Name: "convert", Default: "auto"},
	{Name: "task", Status: Deprecated, Note: "use --runner and --convert"},
	{Name: "tokenizer"},
	{Name: "tokenizer-mode", Default: "auto"},
	{Name: "trust-remote-code", Kind: Bool},
	{Name: "dtype", Default: "auto"},
	{Name: "seed"},
	{Name: "hf-config-path"},
	{Name: "allowed-local-media-path"},
	{Name: "allowed-media-domains", Kind: Multi},
	{Name: "revision"},
	{Name: "code-revision"},
	{Name: "rope-scaling"},
	{Name: "rope-theta"},
	{Name: "tokenizer-revision"},
	{Name: "max-model-len"},
	{Name: "quantization"},
	{Name: "enforce-eager", Kind: Bool},
	{Name: "max-seq-len-to-capture", Status: Deprecated, Note: "CUDA graph sizes are set with --compilation-config"},
	{Name: "max-logprobs", Default: "20"},
	{Name: "logprobs-mode"},
	{Name: "disable-sliding-window", Kind: Bool},
	{Name: "disable-cascade-attn", Kind: Bool},
	{Name: "skip-tokenizer-init", Kind: Bool},
	{Name: "enable-prompt-embeds", Kind: Bool},
	{Name: "hf-token"},
	{Name: "hf-overrides"},
	{Name: "pooler-config"},
	{Name: "override-pooler-config", Status: Deprecated, Note: "use --pooler-config"},
	{Name: "logits-processor-pattern"},
	{Name: "generation-config", Default: "auto"},
	{Name: "override-generation-config"},
	{Name: "enable-sleep-mode", Kind: Bool},
	{Name: "model-impl", Default: "auto"},
	{Name: "override-attention-dtype"},
	{Name: "logits-processors", Kind: Multi},
	{Name: "io-processor-plugin"},
	{Name: "load-format", Default: "auto"},
	{Name: "download-dir"},
	{Name: "safetensors-load-strategy"},
	{Name: "model-loader-extra-config"},
	{Name: "ignore-patterns", Kind: Multi},
	{Name: "use-tqdm-on-load", Kind: Bool, Negatable: true},
	{Name: "pt-load-map-location"},
	{Name: "guided-decoding-backend", Status: Deprecated, Note: "use --structured-outputs-config"},
	{Name: "structured-outputs-config"},
	{Name: "reasoning-parser"},
	{Name: "reasoning-parser-plugin"},
	{Name: "distributed-executor-backend"},
	{Name: "pipeline-parallel-size", Default: "1"},
	{Name: "tensor-parallel-size", Default: "1"},
	{Name: "data-parallel-size", Default: "1"},
	{Name: "data-parallel-rank"},
	{Name: "data-parallel-start-rank"},
	{Name: "data-parallel-size-local"},
	{Name: "data-parallel-address"},
	{Name: "data-parallel-rpc-port"},
	{Name: "data-parallel-backend"},
	{Name: "data-parallel-hybrid-lb", Kind: Bool},
	{Name: "enable-expert-parallel", Kind: Bool},
	{Name: "enable-eplb", Kind: Bool},
	{Name: "eplb-config"},
	{Name: "max-parallel-loading-workers"},
	{Name: "ray-workers-use-nsight", Kind: Bool},
	{Name: "disable-custom-all-reduce", Kind: Bool},
	{Name: "worker-cls"},
	{Name: "worker-extension-cls"},
	{Name: "enable-multimodal-encoder-data-parallel", Kind: Bool},
	{Name: "block-size", Default: "16"},
	{Name: "gpu-memory-utilization", Default: "0.9"},
	{Name: "kv-cache-memory"},
	{Name: "kv-cache-memory-bytes"},
	{Name: "swap-space", Default: "4"},
	{Name: "kv-cache-dtype", Default: "auto"},
	{Name: "num-gpu-blocks-override"},
	{Name: "enable-prefix-caching", Kind: Bool, Negatable: true, Status: NoOp,
		Note: "prefix caching is already on by default in the V1 engine; only --no-enable-prefix-caching changes anything"},
	{Name: "prefix-caching-hash-algo", Default: "sha256"},
	{Name: "cpu-offload-gb", Default: "0"},
	{Name: "calculate-kv-scales", Kind: Bool},
	{Name: "kv-sharing-fast-prefill", Kind: Bool},
	{Name: "mamba-cache-dtype"},
	{Name: "mamba-ssm-cache-dtype"},
	{Name: "limit-mm-per-prompt"},
	{Name: "media-io-kwargs"},
	{Name: "mm-processor-kwargs"},
	{Name: "mm-processor-cache-gb"},
	{Name: "disable-mm-preprocessor-cache", Kind: Bool},
	{Name: "mm-encoder-tp-mode"},
	{Name: "interleave-mm-strings", Kind: Bool},
	{Name: "skip-mm-profiling", Kind: Bool},
	{Name: "enable-lora", Kind: Bool},
	{Name: "enable-lora-bias", Kind: Bool},
	{Name: "max-loras", Default: "1"},
	{Name: "max-lora-rank", Default: "16"},
	{Name: "lora-extra-vocab-size"},
	{Name: "lora-dtype"},
	{Name: "max-cpu-loras"},
	{Name: "fully-sharded-loras", Kind: Bool},
	{Name: "default-mm-loras"},
	{Name: "show-hidden-metrics-for-version"},
	{Name: "otlp-traces-endpoint"},
	{Name: "collect-detailed-traces"},
	{Name: "max-num-batched-tokens"},
	{Name: "max-num-seqs", Default: "256"},
	{Name: "max-num-partial-prefills", Default: "1"},
	{Name: "max-long-partial-prefills", Default: "1"},
	{Name: "long-prefill-token-threshold", Default: "0"},
	{Name: "num-lookahead-slots"},
	{Name: "scheduling-policy", Default: "fcfs"},
	{Name: "enable-chunked-prefill", Kind: Bool, Negatable: true, Status: NoOp,
		Note: "chunked prefill is forced on for generative models in the V1 engine (0.9–0.11); the flag changes nothing"},
	{Name: "disable-chunked-mm-input", Kind: Bool},
	{Name: "scheduler-cls"},
	{Name: "disable-hybrid-kv-cache-manager", Kind: Bool},
	{Name: "async-scheduling", Kind: Bool},
	{Name: "speculative-config"},
	{Name: "kv-transfer-config"},
	{Name: "kv-events-config"},
	{Name: "compilation-config"},
	{Name: "additional-config"},
	{Name: "disable-log-stats", Kind: Bool},
	{Name: "enable-log-requests", Kind: Bool},
	{Name: "disable-log-requests", Kind: Bool, Status: Deprecated, Note: "request logging is off by default now; --enable-log-requests turns it on"},
	{Name: "preemption-mode"},
	{Name: "enable-reasoning", Kind: Bool, Status: Removed,
		Note: "removed after 0.9 (`unrecognized arguments: --enable-reasoning`); --reasoning-parser alone enables reasoning output"},
	{Name: "use-v2-block-manager", Kind: Bool, Status: Removed, Note: "V0 only; the V1 engine has no block manager option"},
	{Name: "disable-async-output-proc", Kind: Bool, Status: Removed, Note: "V0 only"},
	{Name: "num-scheduler-steps", Status: Removed, Note: "V0 multi-step scheduling; removed with the V0 engine"},
}

// short flags vLLM accepts with a single dash, mapped to their long name.
var shortFlags = map[string]string{
	"tp": "tensor-parallel-size",
	"pp": "pipeline-parallel-size",
	"dp": "data-parallel-size",
	"q":  "quantization",
	"O":  "compilation-config",
}

var flagIndex = func() map[string]Flag {
	m := make(map[string]Flag, len(flagTable))
	for _, f := range flagTable {
		m[f.Name] = f
	}
	return m
}()

// NormalizeFlag returns the canonical name of a flag as vLLM's parser sees it:
// leading dashes removed, '_' turned into '-' (up to the first '='), short aliases
// expanded. "--max_model_len" and "max-model-len" both give "max-model-len".
func NormalizeFlag(name string) string {
	single := strings.HasPrefix(name, "-") && !strings.HasPrefix(name, "--")
	name = strings.TrimLeft(name, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	if single {
		if long, ok := shortFlags[name]; ok {
			return long
		}
		if strings.HasPrefix(name, "O") {
			return "compilation-config"
		}
		if e, ok := flagdb.Lookup("-" + name); ok {
			return e.Name
		}
		return "-" + name // not a vLLM short flag: stays unknown ("-model" is not "--model")
	}
	return strings.ReplaceAll(name, "_", "-")
}

// LookupFlag finds a flag by any spelling. A `--no-x` form of a negatable flag
// returns x's entry with negated true.
//
// Flags this table lacks are looked up in the versioned table (flagdb) of every
// release vllmctl knows; whether the flag exists in a given release is for the
// caller to judge (flagdb.At). A dotted key of a JSON flag
// (--limit-mm-per-prompt.image, -O.mode) is that flag.
func LookupFlag(name string) (f Flag, negated, ok bool) {
	n := NormalizeFlag(name)
	if f, ok := flagIndex[n]; ok {
		return f, false, true
	}
	if rest, cut := strings.CutPrefix(n, "no-"); cut {
		if f, ok := flagIndex[rest]; ok && f.Negatable {
			return f, true, true
		}
	}
	if e, ok := flagdb.Lookup(n); ok {
		return fromDB(e), flagdb.Negated(n), true
	}
	if base, _, dotted := strings.Cut(n, "."); dotted {
		if f, ok := flagIndex[base]; ok {
			f.Kind = Value
			return f, false, true
		}
		if e, ok := flagdb.Lookup(base); ok && e.Kind == flagdb.JSON {
			f := fromDB(e)
			f.Kind = Value
			return f, false, true
		}
	}
	return Flag{}, false, false
}

// fromDB turns a versioned-table entry into a Flag.
func fromDB(e flagdb.Entry) Flag {
	f := Flag{Name: e.Name, Default: e.Default, Negatable: e.Negatable, Note: e.Note}
	switch e.Kind {
	case flagdb.Bool:
		f.Kind = Bool
	case flagdb.Multi:
		f.Kind = Multi
	default:
		f.Kind = Value
	}
	f.Secret = e.Name == "api-key" || strings.HasSuffix(e.Name, "-token") || strings.HasSuffix(e.Name, "-secret")
	return f
}

// Flags returns every known flag, sorted by name.
func Flags() []Flag {
	out := append([]Flag(nil), flagTable...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SuggestFlag returns the known flag closest to an unknown one, or "" when
// nothing is close enough to be a plausible typo.
func SuggestFlag(name string) string {
	n := NormalizeFlag(name)
	best, bestD := "", 1<<30
	for _, f := range flagTable {
		if f.Status == Removed {
			continue
		}
		d := editDistance(n, f.Name)
		if d < bestD || (d == bestD && f.Name < best) {
			best, bestD = f.Name, d
		}
	}
	limit := len(n) / 3
	if limit < 2 {
		limit = 2
	}
	if bestD <= limit {
		return best
	}
	// A suffix or prefix match ("max-len" for "max-model-len") is also a fair guess.
	for _, f := range flagTable {
		if f.Status != Removed && len(n) >= 4 && (strings.HasPrefix(f.Name, n) || strings.HasSuffix(f.Name, n)) {
			return f.Name
		}
	}
	return ""
}

// Suggest returns the candidate closest to s within a small edit distance, or "".
func Suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ToolCallParsers are the stock tool-call parsers of 2025–2026 vLLM images (FACTS §6.4).
var ToolCallParsers = []string{
	"deepseek_v3", "deepseek_v31", "deepseek_v32", "ernie45", "gemma4", "glm45", "glm47", "granite",
	"granite-20b-fc", "granite4", "hermes", "hunyuan_a13b", "internlm", "jamba", "kimi_k2",
	"llama3_json", "llama4_json", "llama4_pythonic", "longcat", "minimax_m2", "mistral", "olmo3",
	"openai", "phi4_mini_json", "pythonic", "qwen3_coder", "qwen3_xml", "seed_oss", "step3", "xlam",
}

// ReasoningParsers are the stock reasoning parsers of about vLLM 0.11 (FACTS §6.4). Names
// of later releases (kimi_k2 from 0.12, gemma4 from 0.19, nemotron_v3 from 0.20.2, ...) are
// in flagdb, per release, as --reasoning-parser choices: flagdb.Choices gives those of a
// release, and check accepts a name from either list.
var ReasoningParsers = []string{
	"deepseek_r1", "glm45", "granite", "hunyuan_a13b", "mistral", "openai_gptoss", "qwen3", "seed_oss", "step3",
}

// QuantizationMethods are the values --quantization accepts in vLLM 0.10/0.11.
var QuantizationMethods = []string{
	"aqlm", "auto-round", "awq", "awq_marlin", "bitblas", "bitsandbytes", "compressed-tensors",
	"deepspeedfp", "experts_int8", "fbgemm_fp8", "fp8", "gguf", "gptq", "gptq_bitblas", "gptq_marlin",
	"gptq_marlin_24", "hqq", "ipex", "marlin", "modelopt", "modelopt_fp4", "moe_wna16", "mxfp4",
	"ptpc_fp8", "quark", "torchao", "tpu_int8",
}

// KVCacheDTypes are the values --kv-cache-dtype accepts.
var KVCacheDTypes = []string{"auto", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "bfloat16"}

// DTypes are the values --dtype accepts.
var DTypes = []string{"auto", "half", "float16", "bfloat16", "float", "float32"}

// IsSecretFlag reports whether a flag's value must never be printed.
func IsSecretFlag(name string) bool {
	f, _, ok := LookupFlag(name)
	return ok && f.Secret
}

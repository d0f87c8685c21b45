package vllm

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

func TestParseForms(t *testing.T) {
	tests := []struct {
		name  string
		argv  []string
		check func(t *testing.T, a Args)
	}{
		{"space and equals, underscore and dash", []string{"--max_model_len", "8192", "--gpu-memory-utilization=0.8", "--kv_cache_dtype=fp8"}, func(t *testing.T, a Args) {
			if a.MaxModelLen != 8192 || a.GPUMemoryUtilization != 0.8 || a.KVCacheDType != "fp8" {
				t.Errorf("got len %d util %g kv %q", a.MaxModelLen, a.GPUMemoryUtilization, a.KVCacheDType)
			}
		}},
		{"vllm serve positional model", []string{"vllm", "serve", "Qwen/Qwen3-8B", "--port", "5001"}, func(t *testing.T, a Args) {
			if a.Launcher != "vllm serve" || a.Model != "Qwen/Qwen3-8B" || a.Port != 5001 {
				t.Errorf("got launcher %q model %q port %d", a.Launcher, a.Model, a.Port)
			}
		}},
		{"python module launcher", []string{"python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "m"}, func(t *testing.T, a Args) {
			if a.Launcher != "api_server" || a.Model != "m" {
				t.Errorf("got launcher %q model %q", a.Launcher, a.Model)
			}
		}},
		{"defaults", []string{"--model", "m"}, func(t *testing.T, a Args) {
			if a.TensorParallelSize != 1 || a.Port != 8000 || a.GPUMemoryUtilization != 0.9 || a.MaxNumSeqs != 256 || a.KVCacheDType != "auto" {
				t.Errorf("defaults wrong: %+v", a)
			}
		}},
		{"json values", []string{"--rope-scaling", `{"rope_type":"yarn","factor":4.0}`, "--hf-overrides={\"a\":1}"}, func(t *testing.T, a Args) {
			if a.RopeScaling["factor"] != 4.0 || a.HFOverrides["a"] != 1.0 {
				t.Errorf("got %v %v", a.RopeScaling, a.HFOverrides)
			}
		}},
		{"bad json", []string{"--rope-scaling", `{yarn}`}, func(t *testing.T, a Args) {
			wantProblem(t, a, BadValue, "rope-scaling")
		}},
		{"multi values", []string{"--served-model-name", "a", "b", "--enforce-eager"}, func(t *testing.T, a Args) {
			if !reflect.DeepEqual(a.ServedModelNames, []string{"a", "b"}) || !a.EnforceEager {
				t.Errorf("got %v eager %v", a.ServedModelNames, a.EnforceEager)
			}
		}},
		{"missing value at end", []string{"--model", "m", "--api-key"}, func(t *testing.T, a Args) {
			p := wantProblem(t, a, MissingValue, "api-key")
			if !strings.Contains(p.Message, "expected at least one argument") {
				t.Errorf("message %q", p.Message)
			}
		}},
		{"missing value before flag", []string{"--api-key", "--port", "1"}, func(t *testing.T, a Args) {
			wantProblem(t, a, MissingValue, "api-key")
			if a.Port != 1 {
				t.Errorf("port %d", a.Port)
			}
		}},
		{"unknown flag kept with suggestion", []string{"--max-model-lenght", "4096", "--port", "1"}, func(t *testing.T, a Args) {
			p := wantProblem(t, a, UnknownFlag, "max-model-lenght")
			if p.Hint != "did you mean --max-model-len?" {
				t.Errorf("hint %q", p.Hint)
			}
			arg, ok := a.Lookup("max-model-lenght")
			if !ok || !reflect.DeepEqual(arg.Values, []string{"4096"}) {
				t.Errorf("unknown flag not kept: %+v", arg)
			}
		}},
		{"list item holding flag and value", []string{"--max-model-len 8192"}, func(t *testing.T, a Args) {
			wantProblem(t, a, SplitItem, "max-model-len")
		}},
		{"negated bool", []string{"--no-enable-prefix-caching"}, func(t *testing.T, a Args) {
			arg, ok := a.Lookup("enable-prefix-caching")
			if !ok || !arg.Negated {
				t.Errorf("got %+v", arg)
			}
		}},
		{"short alias", []string{"-tp", "2"}, func(t *testing.T, a Args) {
			if a.TensorParallelSize != 2 {
				t.Errorf("tp %d", a.TensorParallelSize)
			}
		}},
		{"not an integer", []string{"--max-model-len", "lots"}, func(t *testing.T, a Args) {
			wantProblem(t, a, BadValue, "max-model-len")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, Parse(tt.argv)) })
	}
}

func wantProblem(t *testing.T, a Args, kind ProblemKind, flag string) Problem {
	t.Helper()
	for _, p := range a.Problems {
		if p.Kind == kind && p.Flag == flag {
			return p
		}
	}
	t.Fatalf("no %s problem for --%s in %+v", kind, flag, a.Problems)
	return Problem{}
}

func TestParamsBillion(t *testing.T) {
	for model, want := range map[string]float64{
		"Qwen/Qwen3-32B-AWQ": 32, "Qwen/Qwen3-1.7B-FP8": 1.7, "meta-llama/Llama-3.1-8B-Instruct": 8,
		"Qwen/Qwen3-30B-A3B": 30, "Orion-zhen/Qwen3-1.7B-AWQ": 1.7,
	} {
		if got, ok := ParamsBillion(model); !ok || got != want {
			t.Errorf("%s: got %g %v, want %g", model, got, ok, want)
		}
	}
	if _, ok := ParamsBillion("my-model"); ok {
		t.Error("size guessed for a name without one")
	}
}

func TestSuggestFlag(t *testing.T) {
	for in, want := range map[string]string{"--tensor-paralel-size": "tensor-parallel-size", "--gpu-mem-utilization": "gpu-memory-utilization", "--zzzzzz": ""} {
		if got := SuggestFlag(in); got != want {
			t.Errorf("%s: got %q want %q", in, got, want)
		}
	}
}

func TestParseAttachedShortValue(t *testing.T) {
	a := Parse([]string{"vllm", "serve", "m", "-O3", "--port", "8001"})
	arg, ok := a.Lookup("compilation-config")
	if !ok || len(arg.Values) != 1 || arg.Values[0] != "3" {
		t.Fatalf("-O3: got %+v (found %v), want compilation-config=3", arg, ok)
	}
	if len(a.Problems) != 0 {
		t.Errorf("-O3 gives problems: %+v", a.Problems)
	}
	if a.Port != 8001 {
		t.Errorf("port after -O3 = %d, want 8001", a.Port)
	}
}

func TestEffectiveValueFlagWithoutValue(t *testing.T) {
	a := Parse([]string{"--model", "m", "--gpu-memory-utilization", "--enforce-eager"})
	if v, src := a.Effective("gpu-memory-utilization"); v != "(no value)" || src != FromWritten {
		t.Errorf("a value flag given no value shows %q (%s), want (no value) (written)", v, src)
	}
	if v, _ := a.Effective("enforce-eager"); v != "true" {
		t.Errorf("a boolean flag shows %q, want true", v)
	}
}

func TestDefaultUtilizationByRelease(t *testing.T) {
	for _, c := range []struct {
		v    flagdb.Version
		want float64
	}{
		{flagdb.Version{}, 0.9},
		{flagdb.Version{Minor: 11}, 0.9},
		{flagdb.Version{Minor: 19, Patch: 1}, 0.9},
		{flagdb.Version{Minor: 20}, 0.92},
		{flagdb.Version{Minor: 30}, 0.92},
	} {
		if got := DefaultUtilization(c.v); got != c.want {
			t.Errorf("DefaultUtilization(%s) = %g, want %g", c.v, got, c.want)
		}
		a := Parse([]string{"--model=m"})
		a.AtRelease(c.v)
		if a.GPUMemoryUtilization != c.want {
			t.Errorf("AtRelease(%s): %g, want %g", c.v, a.GPUMemoryUtilization, c.want)
		}
	}
	a := Parse([]string{"--model=m", "--gpu-memory-utilization=0.8"})
	a.AtRelease(flagdb.Version{Minor: 24})
	if a.GPUMemoryUtilization != 0.8 {
		t.Errorf("a written 0.8 became %g at 0.24", a.GPUMemoryUtilization)
	}
}

// TestNewerFrontendAndMambaFlagsParse: flags of recent releases that the versioned table
// knows (flagdb sources 0.16.0, 0.19.0, 0.23.0, 0.33.0) parse as known flags of the right
// kind: a boolean takes no value, a value flag takes one.
func TestNewerFrontendAndMambaFlagsParse(t *testing.T) {
	a := Parse([]string{"vllm", "serve", "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8",
		"--default-chat-template-kwargs", `{"enable_thinking": false}`,
		"--mamba-cache-mode", "align", "--mamba-backend", "flashinfer",
		"--enable-mamba-cache-stochastic-rounding", "--mamba-cache-philox-rounds", "5",
		"--reasoning-parser", "nemotron_v3", "--fingerprint-mode=hash", "--port", "8001"})
	if len(a.Problems) != 0 {
		t.Fatalf("problems: %+v", a.Problems)
	}
	want := map[string][]string{
		"default-chat-template-kwargs":           {`{"enable_thinking": false}`},
		"mamba-cache-mode":                       {"align"},
		"mamba-backend":                          {"flashinfer"},
		"enable-mamba-cache-stochastic-rounding": nil,
		"mamba-cache-philox-rounds":              {"5"},
		"fingerprint-mode":                       {"hash"},
	}
	for name, vals := range want {
		arg, ok := a.Lookup(name)
		if !ok || !arg.Known || !reflect.DeepEqual(arg.Values, vals) && len(vals)+len(arg.Values) > 0 {
			t.Errorf("--%s: found %v known %v values %q; want known with %q", name, ok, arg.Known, arg.Values, vals)
		}
	}
	if a.Port != 8001 || a.ReasoningParser != "nemotron_v3" {
		t.Errorf("port %d reasoning parser %q", a.Port, a.ReasoningParser)
	}
}

// vLLM reads --max-model-len, --max-num-batched-tokens and
// --kv-cache-memory-bytes with human_readable_int: a public compose file's
// "64k" was called an error and planned as the model's full length.
func TestHumanReadableInt(t *testing.T) {
	for in, want := range map[string]int{"8192": 8192, "16k": 16000, "64K": 65536, "25.6k": 25600, "1m": 1000000, "2M": 2 << 20, "1G": 1 << 30, " 32k ": 32000} {
		if got, ok := HumanReadableInt(in); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "k", "1.5K", "-1k", "12x", "infk", "1e3k", "abc"} {
		if got, ok := HumanReadableInt(in); ok {
			t.Errorf("%q read as %d, want refused", in, got)
		}
	}
	a := Parse([]string{"--model", "m", "--max-model-len", "16k", "--max-num-batched-tokens", "8K"})
	if a.MaxModelLen != 16000 || a.MaxNumBatchedTokens != 8192 || len(a.Problems) != 0 {
		t.Errorf("max-model-len %d, batched %d, problems %v; want 16000, 8192, none", a.MaxModelLen, a.MaxNumBatchedTokens, a.Problems)
	}
	if b := Parse([]string{"--model", "m", "--max-model-len", "16q"}); len(b.Problems) != 1 {
		t.Errorf("16q: problems %v, want one", b.Problems)
	}
}

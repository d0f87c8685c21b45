package vllm

import (
	"strconv"
	"strings"
)

// A value that cannot be known where vllmctl reads the files (a variable that
// no .env sets, a command substitution in a wrapper script, "$@" of a script
// whose arguments are not visible) travels through argv as a marker. Parse
// keeps such values unknown: it never replaces them with vLLM's default.
const (
	markOpen  = "⦃"
	markClose = "⦄"
)

// UnknownMark returns the marker that stands for a value written as src
// (e.g. "${TP}") whose content is unknown.
func UnknownMark(src string) string { return markOpen + src + markClose }

// HasUnknown reports whether a token holds an unknown value.
func HasUnknown(tok string) bool { return strings.Contains(tok, markOpen) }

// ShowUnknown turns markers back into their source form ("${TP}") for display.
func ShowUnknown(tok string) string {
	if !HasUnknown(tok) {
		return tok
	}
	return strings.NewReplacer(markOpen, "", markClose, "").Replace(tok)
}

// Source says where an effective value comes from.
type Source int

const (
	// FromDefault: the command line does not give the flag; vLLM's default applies.
	FromDefault Source = iota
	// FromWritten: the command line gives the flag with a known value.
	FromWritten
	// FromUnknown: the value cannot be known here (an unset variable, a script's
	// arguments, a command built at run time).
	FromUnknown
)

func (s Source) String() string {
	switch s {
	case FromWritten:
		return "written"
	case FromUnknown:
		return "unknown"
	}
	return "default"
}

// SourceOf says whether a flag's effective value is written, vLLM's default, or unknown.
func (a *Args) SourceOf(name string) Source {
	n := NormalizeFlag(name)
	if a.unknown[n] {
		return FromUnknown
	}
	if a.set[n] {
		return FromWritten
	}
	if a.Opaque != "" {
		return FromUnknown
	}
	return FromDefault
}

// Known reports whether the flag's effective value is known (written or a default).
func (a *Args) Known(name string) bool { return a.SourceOf(name) != FromUnknown }

// OpaqueArgs is the model of a command line vllmctl cannot see at all (a script
// it cannot read, an image it cannot tell): every value is unknown.
func OpaqueArgs(why string) Args {
	return Args{Opaque: why, set: map[string]bool{}, unknown: map[string]bool{}}
}

// Summary lists the settings vllmctl shows for an engine, in display order.
var Summary = []string{"model", "served-model-name", "tensor-parallel-size", "pipeline-parallel-size",
	"data-parallel-size", "max-model-len", "gpu-memory-utilization", "kv-cache-dtype", "dtype", "quantization",
	"max-num-seqs", "max-num-batched-tokens", "port", "enforce-eager", "tool-call-parser", "reasoning-parser", "api-key"}

// Effective returns a flag's effective value as text and where it comes from:
// the command line, vLLM's default (described when it depends on the model or
// the engine), or unknown (then the text is the source form, e.g. "${TP}", or
// why the command line cannot be seen). Secret values are masked.
func (a *Args) Effective(flag string) (string, Source) {
	name := NormalizeFlag(flag)
	src := a.SourceOf(name)
	if src == FromUnknown {
		if arg, ok := a.Lookup(name); ok && arg.Unknown {
			return ShowUnknown(strings.Join(arg.Values, " ")), src
		}
		if name == "model" && len(a.Positional) > 0 && HasUnknown(a.Positional[0]) {
			return ShowUnknown(a.Positional[0]), src
		}
		return "may be set by " + a.Opaque, src
	}
	f, _, _ := LookupFlag(name)
	if src == FromWritten && f.Secret {
		if arg, ok := a.Lookup(name); ok && strings.TrimSpace(strings.Join(arg.Values, "")) == "" {
			return "(empty)", src
		}
		return "***", src
	}
	if arg, ok := a.Lookup(name); ok && src == FromWritten {
		if f.Kind == Bool {
			return strconv.FormatBool(!arg.Negated), src
		}
		if len(arg.Values) == 0 || strings.Join(arg.Values, "") == "" {
			return "(no value)", src // vLLM refuses it: check reports why
		}
		return strings.Join(arg.Values, " "), src
	}
	if name == "model" && src == FromWritten {
		return a.Model, src
	}
	switch name {
	case "served-model-name":
		if a.Model != "" {
			return a.Model + " (the model)", src
		}
		if a.SourceOf("model") == FromUnknown {
			m, _ := a.Effective("model")
			return m + " (the model)", FromUnknown
		}
	case "max-model-len":
		return "from the model's config", src
	case "max-num-batched-tokens":
		return "chosen by the engine", src
	case "api-key":
		return "(none)", src
	case "enforce-eager":
		return "false", src
	case "tool-call-parser", "reasoning-parser", "quantization":
		if name == "quantization" {
			return "from the checkpoint", src
		}
		return "(none)", src
	case "gpu-memory-utilization":
		return strconv.FormatFloat(a.GPUMemoryUtilization, 'g', -1, 64), src
	case "tensor-parallel-size":
		return strconv.Itoa(a.TensorParallelSize), src
	case "pipeline-parallel-size":
		return strconv.Itoa(a.PipelineParallelSize), src
	case "data-parallel-size":
		return strconv.Itoa(a.DataParallelSize), src
	case "max-num-seqs":
		return strconv.Itoa(a.MaxNumSeqs), src
	case "port":
		return strconv.Itoa(a.Port), src
	case "kv-cache-dtype":
		return a.KVCacheDType, src
	case "dtype":
		return a.DType, src
	}
	return f.Default, src
}

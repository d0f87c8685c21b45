package vllm

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

// Arg is one flag of an engine command line, as written.
type Arg struct {
	Name    string   // canonical name (see NormalizeFlag)
	Written string   // the flag token as written, e.g. "--max_model_len=8192"
	Values  []string // values taken by the flag; empty for booleans
	Index   int      // index of the flag token in the argv given to Parse
	Negated bool     // written as --no-<name>
	Known   bool     // in the flag table
	Unknown bool     // its value cannot be known here (see UnknownMark)
}

// ProblemKind classifies a command-line problem.
type ProblemKind string

// Problem kinds found while parsing a command line.
const (
	MissingValue  ProblemKind = "missing-value"  // a value-taking flag got none: argparse exits 2
	BadValue      ProblemKind = "bad-value"      // a value that cannot be what the flag wants
	UnknownFlag   ProblemKind = "unknown-flag"   // not a vLLM flag
	SplitItem     ProblemKind = "split-item"     // a list item holding a flag and its value together
	StrayArgument ProblemKind = "stray-argument" // a positional argument vLLM will reject
)

// Problem is one defect of a command line, tied to the argv index it concerns.
type Problem struct {
	Kind    ProblemKind
	Index   int
	Flag    string // canonical flag name, "" when not about a flag
	Message string
	Hint    string
}

// Args is the typed model of a vLLM engine command line. Typed fields hold the
// effective value: the flag's value when given, else vLLM's default (see Set).
type Args struct {
	Launcher   string   // "vllm serve", "api_server" (python -m ...), or "" (image entrypoint)
	Positional []string // positional arguments (the model for `vllm serve <model>`)
	// Opaque, when set, says why part of the command line cannot be known (a
	// variable that may hold several flags, a script's "$@"): flags it does not
	// write are then unknown, not vLLM's defaults.
	Opaque   string
	List     []Arg // every flag in order, unknown ones included
	Problems []Problem

	Model                string
	ServedModelNames     []string
	Host                 string
	Port                 int
	TensorParallelSize   int
	PipelineParallelSize int
	DataParallelSize     int
	MaxModelLen          int // 0: derived from the model config
	GPUMemoryUtilization float64
	Quantization         string
	DType                string
	KVCacheDType         string
	MaxNumSeqs           int
	MaxNumBatchedTokens  int // 0: engine chooses
	EnforceEager         bool
	APIKey               string // secret: never print
	ToolCallParser       string
	EnableAutoToolChoice bool
	ReasoningParser      string
	RopeScaling          map[string]any
	HFOverrides          map[string]any
	SwapSpace            float64
	ChatTemplate         string
	BlockSize            int
	KVCacheMemoryBytes   int64

	set     map[string]bool
	unknown map[string]bool
}

// IsSet reports whether the command line gives the flag (any spelling).
func (a *Args) IsSet(name string) bool { return a.set[NormalizeFlag(name)] }

// Lookup returns the last occurrence of a flag.
func (a *Args) Lookup(name string) (Arg, bool) {
	n := NormalizeFlag(name)
	for i := len(a.List) - 1; i >= 0; i-- {
		if a.List[i].Name == n {
			return a.List[i], true
		}
	}
	return Arg{}, false
}

// ServedNames returns the names the server answers to: --served-model-name, else the model.
func (a *Args) ServedNames() []string {
	if len(a.ServedModelNames) > 0 {
		return a.ServedModelNames
	}
	if a.Model != "" {
		return []string{a.Model}
	}
	return nil
}

// IsLauncher reports whether argv starts like a vLLM engine launch: `vllm serve`,
// `python -m vllm.entrypoints.openai.api_server`, or the api_server script.
func IsLauncher(argv []string) bool {
	_, n := launcher(argv)
	return n > 0
}

func launcher(argv []string) (string, int) {
	for i, t := range argv {
		base := t[strings.LastIndexAny(t, "/\\")+1:]
		switch {
		case (base == "vllm" || strings.HasPrefix(base, "vllm-")) && i+1 < len(argv) && argv[i+1] == "serve": // vllm-omni serve too
			return "vllm serve", i + 2
		case strings.Contains(t, "vllm.entrypoints.openai.api_server"), strings.HasSuffix(t, "api_server.py"):
			return "api_server", i + 1
		}
		if i >= 3 { // launchers sit at the start: python3 -m <module>
			break
		}
	}
	return "", 0
}

// Parse reads an engine command line the way vLLM's argparse does: `--flag value`
// and `--flag=value`, '_' and '-' alike, booleans without values, multi-value flags
// up to the next flag, JSON values for dict flags. argv may start with a launcher
// (`vllm serve MODEL`, `python3 -m vllm.entrypoints.openai.api_server`) or hold flags
// only, as a compose `command:` does for the vllm/vllm-openai image. Unknown flags are
// kept in List. Parse never fails; defects go to Problems.
func Parse(argv []string) Args { return ParseAs("", argv) }

// ParseAs is Parse for an argv that follows a launcher not written in it: "vllm
// serve" for the command of an image whose entrypoint is `vllm serve` (a leading
// positional is the model), "" to detect the launcher in argv.
func ParseAs(launch string, argv []string) Args {
	a := Args{set: map[string]bool{}, unknown: map[string]bool{}}
	var start int
	if launch != "" {
		a.Launcher = launch
	} else {
		a.Launcher, start = launcher(argv)
	}
	for i := start; i < len(argv); i++ {
		tok := argv[i]
		if HasUnknown(tok) && !looksLikeFlag(tok) && len(a.List) == 0 && a.Launcher == "vllm serve" && len(a.Positional) == 0 {
			a.Positional = append(a.Positional, tok) // `vllm serve ${MODEL}`: an unknown model
			a.set["model"], a.unknown["model"] = true, true
			continue
		}
		if HasUnknown(tok) && !looksLikeFlag(tok) {
			// A variable standing where a flag would be may hold any number of flags.
			if a.Opaque == "" {
				a.Opaque = ShowUnknown(tok)
			}
			continue
		}
		if !looksLikeFlag(tok) {
			if len(a.List) == 0 && a.Launcher == "vllm serve" && len(a.Positional) == 0 {
				a.Positional = append(a.Positional, tok)
				continue
			}
			a.Positional = append(a.Positional, tok)
			a.Problems = append(a.Problems, Problem{Kind: StrayArgument, Index: i,
				Message: fmt.Sprintf("stray argument %q: vLLM exits with `unrecognized arguments: %s`", tok, tok),
				Hint:    "give it to the flag it belongs to, or remove it"})
			continue
		}
		name, inline, hasEq := strings.Cut(tok, "=")
		if o, ok := strings.CutPrefix(tok, "-O"); ok && !strings.HasPrefix(tok, "--") && o != "" && !strings.HasPrefix(o, ".") {
			// -O3: argparse takes a short option's value attached to it.
			name, inline, hasEq = "-O", o, true
		}
		if strings.ContainsAny(name, " \t") {
			// A compose list item such as "- --max-model-len 8192" reaches vLLM as one token.
			fields := strings.Fields(name)
			a.Problems = append(a.Problems, Problem{Kind: SplitItem, Index: i, Flag: NormalizeFlag(fields[0]),
				Message: fmt.Sprintf("%q is one argv item: vLLM exits with `unrecognized arguments`", tok),
				Hint:    fmt.Sprintf("write two list items (%q, %q) or %s=%s", fields[0], strings.Join(fields[1:], " "), fields[0], strings.Join(fields[1:], " "))})
			continue
		}
		f, negated, known := LookupFlag(name)
		arg := Arg{Name: NormalizeFlag(name), Written: tok, Index: i, Negated: negated, Known: known}
		if known {
			arg.Name = f.Name
		}
		kind := f.Kind
		if !known {
			kind = Multi // keep whatever follows until the next flag
		}
		switch {
		case hasEq && inline == "" && known && kind != Bool:
			a.Problems = append(a.Problems, Problem{Kind: MissingValue, Index: i, Flag: f.Name,
				Message: fmt.Sprintf("--%s= has an empty value", f.Name),
				Hint:    "the variable that should fill it is probably empty: set it in the project's .env"})
			arg.Values = []string{""} // argparse passes the empty string on
		case hasEq:
			arg.Values = []string{inline}
		case kind == Bool:
		case kind == Value:
			if i+1 < len(argv) && HasUnknown(argv[i+1]) && !looksLikeFlag(argv[i+1]) {
				arg.Values = []string{argv[i+1]}
				i++
			} else if i+1 < len(argv) && !looksLikeFlag(argv[i+1]) {
				arg.Values = []string{argv[i+1]}
				i++
			} else if known {
				a.Problems = append(a.Problems, missingValue(i, f, argv, i+1))
			}
		case kind == Multi:
			for i+1 < len(argv) && !looksLikeFlag(argv[i+1]) {
				arg.Values = append(arg.Values, argv[i+1])
				i++
			}
			if len(arg.Values) == 0 && known {
				a.Problems = append(a.Problems, missingValue(i, f, argv, i+1))
			}
		}
		if !known {
			p := Problem{Kind: UnknownFlag, Index: i, Flag: arg.Name,
				Message: fmt.Sprintf("unknown vLLM flag --%s: vLLM exits with `unrecognized arguments: %s`", arg.Name, name)}
			if s := SuggestFlag(arg.Name); s != "" {
				p.Hint = "did you mean --" + s + "?"
			} else {
				p.Hint = "check `vllm serve --help` of the pinned image"
			}
			a.Problems = append(a.Problems, p)
		}
		for _, v := range arg.Values {
			if HasUnknown(v) {
				arg.Unknown = true
			}
		}
		if arg.Unknown {
			a.unknown[arg.Name] = true
		} else {
			delete(a.unknown, arg.Name) // a later known value wins, as in argparse
		}
		a.List = append(a.List, arg)
		a.set[arg.Name] = true
		if known && !arg.Unknown && (kind == Bool || len(arg.Values) > 0) {
			a.apply(arg, f)
		}
	}
	if a.Model == "" && len(a.Positional) > 0 && a.Launcher == "vllm serve" && !HasUnknown(a.Positional[0]) {
		a.Model = a.Positional[0]
		a.set["model"] = true
	}
	a.fillDefaults()
	return a
}

func missingValue(i int, f Flag, argv []string, next int) Problem {
	msg := fmt.Sprintf("--%s has no value: vLLM exits with `argument --%s: expected at least one argument`", f.Name, f.Name)
	hint := "give it a value, or remove the flag"
	if next < len(argv) && strings.HasPrefix(argv[next], "-") && !strings.HasPrefix(argv[next], "--") {
		hint = fmt.Sprintf("a value that starts with '-' is read as a flag: write --%s=<value>", f.Name)
	}
	if f.Secret {
		hint = "the variable that should hold it is probably empty: set it in the project's .env, or write --" + f.Name + "=<value>"
	}
	return Problem{Kind: MissingValue, Index: i, Flag: f.Name, Message: msg, Hint: hint}
}

// looksLikeFlag mirrors argparse: a token starting with '-' is an option unless it
// is a negative number.
func looksLikeFlag(tok string) bool {
	if !strings.HasPrefix(tok, "-") || tok == "-" {
		return false
	}
	if _, err := strconv.ParseFloat(tok, 64); err == nil {
		return false
	}
	return true
}

func (a *Args) apply(arg Arg, f Flag) {
	v := ""
	if len(arg.Values) > 0 {
		v = arg.Values[0]
	}
	bad := func(want string) {
		a.Problems = append(a.Problems, Problem{Kind: BadValue, Index: arg.Index, Flag: f.Name,
			Message: fmt.Sprintf("--%s %q is not %s", f.Name, redactIf(f, v), want),
			Hint:    "vLLM exits with `argument --" + f.Name + ": invalid value`"})
	}
	atoi := func(dst *int) {
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad("an integer")
			return
		}
		*dst = n
	}
	// vLLM reads these through human_readable_int: 16k is 16,000, 16K is
	// 16,384 (decimals only with the decimal suffixes).
	humanInt := func(dst *int) {
		if v == "" {
			return
		}
		n, ok := HumanReadableInt(v)
		if !ok {
			bad("an integer (or one with a k/K, m/M, g/G suffix)")
			return
		}
		*dst = n
	}
	atof := func(dst *float64) {
		if v == "" {
			return
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			bad("a number")
			return
		}
		*dst = x
	}
	jsonMap := func(dst *map[string]any) {
		if v == "" {
			return
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			a.Problems = append(a.Problems, Problem{Kind: BadValue, Index: arg.Index, Flag: f.Name,
				Message: fmt.Sprintf("--%s value is not a JSON object: %v", f.Name, err),
				Hint:    `quote the whole object: --` + f.Name + ` '{"key": "value"}'`})
			return
		}
		*dst = m
	}
	switch f.Name {
	case "model":
		a.Model = v
	case "served-model-name":
		a.ServedModelNames = arg.Values
	case "host":
		a.Host = v
	case "port":
		atoi(&a.Port)
	case "tensor-parallel-size":
		atoi(&a.TensorParallelSize)
	case "pipeline-parallel-size":
		atoi(&a.PipelineParallelSize)
	case "data-parallel-size":
		atoi(&a.DataParallelSize)
	case "max-model-len":
		humanInt(&a.MaxModelLen)
	case "gpu-memory-utilization":
		atof(&a.GPUMemoryUtilization)
	case "quantization":
		a.Quantization = v
	case "dtype":
		a.DType = v
	case "kv-cache-dtype":
		a.KVCacheDType = v
	case "max-num-seqs":
		atoi(&a.MaxNumSeqs)
	case "max-num-batched-tokens":
		humanInt(&a.MaxNumBatchedTokens)
	case "enforce-eager":
		a.EnforceEager = !arg.Negated
	case "api-key":
		a.APIKey = v
	case "tool-call-parser":
		a.ToolCallParser = v
	case "enable-auto-tool-choice":
		a.EnableAutoToolChoice = true
	case "reasoning-parser":
		a.ReasoningParser = v
	case "rope-scaling":
		jsonMap(&a.RopeScaling)
	case "hf-overrides":
		jsonMap(&a.HFOverrides)
	case "swap-space":
		atof(&a.SwapSpace)
	case "chat-template":
		a.ChatTemplate = v
	case "block-size":
		atoi(&a.BlockSize)
	case "kv-cache-memory", "kv-cache-memory-bytes":
		var n int
		humanInt(&n)
		a.KVCacheMemoryBytes = int64(n)
	}
}

// HumanReadableInt reads an integer as vLLM's human_readable_int does
// (vllm/engine/arg_utils.py, for --max-model-len, --max-num-batched-tokens
// and --kv-cache-memory-bytes): a plain integer, or a number with a decimal
// suffix k, m, g, t (×10³ …, decimals allowed: 25.6k) or a binary one K, M,
// G, T (×2¹⁰ …, whole numbers only).
func HumanReadableInt(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		return n, true
	}
	if len(v) < 2 {
		return 0, false
	}
	num, suffix := v[:len(v)-1], v[len(v)-1]
	pow := strings.IndexByte("kmgt", suffix|0x20) + 1
	whole, frac, dot := strings.Cut(num, ".")
	digits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	if pow == 0 || !digits(whole) || dot && !digits(frac) {
		return 0, false
	}
	if suffix >= 'a' {
		x, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, false
		}
		return int(x * math.Pow(1000, float64(pow))), true
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, false
	}
	return n << (10 * pow), true
}

func redactIf(f Flag, v string) string {
	if f.Secret {
		return "***"
	}
	return v
}

// Utilization092Since is the first release whose --gpu-memory-utilization
// defaults to 0.92 rather than 0.9: vLLM PR #38284 (merged 2026-04-21, shipped
// in v0.20.0) turned the profiler's CUDA-graph estimate on by default and
// raised the default utilization to make up for the graphs it now subtracts.
var Utilization092Since = flagdb.Version{Major: 0, Minor: 20}

// DefaultUtilization is vLLM's --gpu-memory-utilization when the flag is not
// written, at release v: 0.92 from 0.20, else 0.9 (also for a release that
// cannot be told, the zero Version, which the planner plans as an older one).
func DefaultUtilization(v flagdb.Version) float64 {
	if !v.IsZero() && !v.Less(Utilization092Since) {
		return 0.92
	}
	return 0.9
}

// AtRelease sets the defaults that depend on the engine's vLLM release, once
// it is known (Parse assumes a release before 0.20). Written values and values
// vllmctl cannot see are left alone.
func (a *Args) AtRelease(v flagdb.Version) {
	if !a.hasValue("gpu-memory-utilization") && a.SourceOf("gpu-memory-utilization") == FromDefault {
		a.GPUMemoryUtilization = DefaultUtilization(v)
	}
}

func (a *Args) fillDefaults() {
	def := func(dst *int, name string) {
		if *dst == 0 && a.SourceOf(name) == FromDefault {
			if n, err := strconv.Atoi(flagIndex[name].Default); err == nil {
				*dst = n
			}
		}
	}
	def(&a.Port, "port")
	def(&a.TensorParallelSize, "tensor-parallel-size")
	def(&a.PipelineParallelSize, "pipeline-parallel-size")
	def(&a.DataParallelSize, "data-parallel-size")
	def(&a.MaxNumSeqs, "max-num-seqs")
	def(&a.BlockSize, "block-size")
	if a.GPUMemoryUtilization == 0 && !a.hasValue("gpu-memory-utilization") && a.SourceOf("gpu-memory-utilization") == FromDefault {
		a.GPUMemoryUtilization = DefaultUtilization(flagdb.Version{})
	}
	if a.SwapSpace == 0 && !a.hasValue("swap-space") && a.SourceOf("swap-space") == FromDefault {
		a.SwapSpace = 4
	}
	if a.DType == "" && a.SourceOf("dtype") == FromDefault {
		a.DType = "auto"
	}
	if a.KVCacheDType == "" && a.SourceOf("kv-cache-dtype") == FromDefault {
		a.KVCacheDType = "auto"
	}
}

// GPUsNeeded is the number of GPUs the engine uses: TP × PP × DP.
func (a *Args) GPUsNeeded() int {
	return max(1, a.TensorParallelSize) * max(1, a.PipelineParallelSize) * max(1, a.DataParallelSize)
}

// ParallelKnown reports whether the tensor, pipeline and data parallel
// sizes are all known here (written, or vLLM's default), so that
// GPUsNeeded is the engine's figure and not a default standing in for a
// variable or a script.
func (a *Args) ParallelKnown() bool {
	return a.Known("tensor-parallel-size") && a.Known("pipeline-parallel-size") && a.Known("data-parallel-size")
}

var paramsRe = regexp.MustCompile(`(?i)(?:^|[-_/ ])(\d+(?:\.\d+)?)b(?:$|[-_ ])`)
var moeRe = regexp.MustCompile(`(?i)-a(\d+(?:\.\d+)?)b\b`)

// ParamsBillion guesses a model's size from its name ("Qwen/Qwen3-32B-AWQ" → 32).
// It reports false when the name gives no size.
func ParamsBillion(model string) (float64, bool) {
	name := model[strings.LastIndexAny(model, "/\\")+1:]
	name = moeRe.ReplaceAllString(name, "")
	m := paramsRe.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	return f, err == nil
}

// SizeClass names the profile size for a parameter count: micro < 7B,
// mini 7–14B, medium 14–34B, large 34B+.
func SizeClass(billions float64) string {
	switch {
	case billions < 7:
		return "micro"
	case billions < 14:
		return "mini"
	case billions < 34:
		return "medium"
	}
	return "large"
}

// hasValue reports whether the flag is given with a value.
func (a *Args) hasValue(name string) bool {
	arg, ok := a.Lookup(name)
	return ok && len(arg.Values) > 0 && arg.Values[0] != ""
}

// HasValue reports whether the flag is given with a non-empty value.
func (a *Args) HasValue(name string) bool { return a.hasValue(name) }

// Canonical prints the flags in one normal form: `--name=value` for single
// values, `--name v1 v2` for several, `--no-name` for negated booleans;
// positional arguments first. Parse(Canonical()) gives the same flags.
func (a *Args) Canonical() []string {
	var out []string
	if a.Launcher == "vllm serve" {
		out = append(out, "vllm", "serve")
	}
	for _, p := range a.Positional {
		if !looksLikeFlag(p) {
			out = append(out, p)
		}
	}
	for _, arg := range a.List {
		name := "--" + arg.Name
		switch {
		case !arg.Known:
			name, _, _ = strings.Cut(arg.Written, "=") // keep an unknown flag as written
		case arg.Negated:
			name = "--no-" + arg.Name
		}
		switch {
		case len(arg.Values) == 1:
			out = append(out, name+"="+arg.Values[0])
		default:
			out = append(out, name)
			out = append(out, arg.Values...)
		}
	}
	return out
}

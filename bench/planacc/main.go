// Command planacc measures the planner against real startup figures: every row
// of kv_datapoints_public.csv (model, GPU, flags → what vLLM printed). It prints
// a Markdown report for BENCHMARKS.md and exits 1 when a row with enough
// information misses its target.
//
//	go run ./bench/planacc [-csv ../shared/vllm/kv_datapoints_public.csv] [-rows bench/planacc/issue13_rows.csv]
//
// issue13_rows.csv holds the rows collected for issue 13 (MoE, hybrid linear
// attention, sliding window, MLA, multimodal, speculative decoding), each with
// its source and the side of vLLM PR #41069 its token figure comes from. Its
// sampler column says which top-k/top-p path the row's engine took where the
// source (its log, or the release or image it ran) settles it — "pytorch" or
// "flashinfer", with the quote and address in sampler_source — and planacc
// passes that to the planner as the engine's environment
// (VLLM_USE_FLASHINFER_SAMPLER=0 or 1); empty means the source does not say.
// Its install column says how the row's vLLM was installed where the source
// shows it — "image" (vllm/vllm-openai) or "pip" (a wheel in a virtual or
// conda environment), with the evidence in install_source — and planacc
// passes it as the engine's plan.Install: it decides whether FlashInfer's
// kernels exist on releases whose wheel does not pull them.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

var num = regexp.MustCompile(`^-?[0-9.]+`)
var gibIn = regexp.MustCompile(`([0-9.]+)\s*GiB`)

func parseNum(s string) (float64, bool) {
	m := num.FindString(strings.TrimSpace(s))
	if m == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(m, 64)
	return f, err == nil
}

var versionRe = regexp.MustCompile(`\d+\.\d+(?:\.\d+)?`)

// rowVersion is the row's vLLM release ("0.24.0"; the first of a range; V0 rows
// and rows without one: "0.6.0" and "0.11.0").
func rowVersion(s string) string {
	if strings.Contains(s, "V0") {
		return "0.6.0"
	}
	if v := versionRe.FindString(s); v != "" {
		return v
	}
	return "0.11.0"
}

func main() {
	path := flag.String("csv", "../shared/vllm/kv_datapoints_public.csv", "datapoints file (skipped when absent)")
	rowsPath := flag.String("rows", "bench/planacc/issue13_rows.csv", "issue 13's rows")
	flag.IntVar(&explainRow, "explain", 0, "print the planner's breakdown (plan --explain) of this row's end-to-end estimate to stderr")
	flag.Parse()
	failures, n := 0, 0
	fmt.Println("| # | source | side of PR #41069 | model | GPU | (a) KV tokens from vLLM's available memory | (b) available KV end to end | verdict |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, p := range []string{*path, *rowsPath} {
		f, err := os.Open(p)
		if err != nil {
			if p == *path {
				fmt.Fprintln(os.Stderr, "planacc: skipping", p+":", err)
				continue
			}
			fmt.Fprintln(os.Stderr, "planacc:", err)
			os.Exit(2)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "planacc:", p+":", err)
			os.Exit(2)
		}
		failures += report(rows, &n)
	}
	if failures > 0 {
		fmt.Printf("\n%d target(s) missed\n", failures)
		os.Exit(1)
	}
	fmt.Println("\nall rows with enough information meet their targets")
}

// report prints one table row per datapoint and returns the targets missed.
// explainRow is the row whose end-to-end breakdown goes to stderr (0: none).
var explainRow int

func report(rows [][]string, n *int) int {
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	get := func(r []string, k string) string {
		if i, ok := col[k]; ok && i < len(r) {
			return strings.TrimSpace(r[i])
		}
		return ""
	}
	failures := 0
	for _, r := range rows[1:] {
		*n++
		model := get(r, "model")
		m, known := plan.LookupModel(strings.Fields(model + " -")[0])
		tp, _ := parseNum(get(r, "tp"))
		argv := []string{}
		if tp > 1 {
			argv = append(argv, fmt.Sprintf("--tensor-parallel-size=%d", int(tp)))
		}
		pp, _ := parseNum(get(r, "pp"))
		if pp > 1 {
			argv = append(argv, fmt.Sprintf("--pipeline-parallel-size=%d", int(pp)))
		}
		// extra_args holds flags, and env:NAME=VALUE for the engine's environment.
		rowEnv := map[string]string{}
		for _, tok := range splitArgs(get(r, "extra_args")) {
			if kv, ok := strings.CutPrefix(tok, "env:"); ok {
				k, v, found := strings.Cut(kv, "=")
				if !found || k == "" {
					fmt.Fprintf(os.Stderr, "planacc: row %d (%s): extra_args %q: write env:NAME=VALUE\n", *n, get(r, "source_url"), tok)
					os.Exit(2)
				}
				rowEnv[k] = v
				continue
			}
			argv = append(argv, tok)
		}
		if q := strings.ToLower(get(r, "quantization")); strings.Contains(q, "nvfp4") || strings.Contains(q, "modelopt") {
			argv = append(argv, "--quantization=modelopt_fp4")
		}
		if kv := get(r, "kv_cache_dtype"); kv != "" {
			argv = append(argv, "--kv-cache-dtype="+kv)
		}
		mml, hasLen := parseNum(get(r, "max_model_len"))
		if hasLen {
			argv = append(argv, fmt.Sprintf("--max-model-len=%d", int(mml)))
		}
		util, hasUtil := parseNum(get(r, "gpu_mem_util"))
		if hasUtil {
			argv = append(argv, fmt.Sprintf("--gpu-memory-utilization=%g", util))
		}
		q := strings.ToLower(get(r, "quantization"))
		switch {
		case strings.HasPrefix(q, "bitsandbytes"):
			argv = append(argv, "--quantization=bitsandbytes")
		case strings.HasPrefix(q, "auto_round"), strings.HasPrefix(q, "autoround"):
			argv = append(argv, "--quantization=auto-round")
		case strings.HasPrefix(q, "gptq"):
			argv = append(argv, "--quantization=gptq")
		case strings.HasPrefix(q, "fp8"):
			argv = append(argv, "--quantization=fp8")
		}
		args := vllm.Parse(argv)
		env, sampler, err := samplerEnv(get(r, "sampler"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "planacc: row %d (%s): %v\n", *n, get(r, "source_url"), err)
			os.Exit(2)
		}
		if len(rowEnv) > 0 {
			if env == nil {
				env = map[string]string{}
			}
			for k, v := range rowEnv {
				env[k] = v
			}
		}
		inst, err := install(get(r, "install"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "planacc: row %d (%s): %v\n", *n, get(r, "source_url"), err)
			os.Exit(2)
		}
		avail, hasAvail := parseNum(get(r, "available_kv_gib"))
		tokens, hasTokens := parseNum(get(r, "kv_tokens"))
		approx := strings.HasPrefix(get(r, "available_kv_gib"), "~") || strings.HasPrefix(get(r, "kv_tokens"), "~")
		version := rowVersion(get(r, "vllm_version"))
		side := get(r, "pr41069_side")
		if side == "after" && parseVersionF(version) < 0.20 {
			version = "0.21.0" // a 2026 build named by date: after PR #41069
		}
		if side == "before" && parseVersionF(version) >= 0.20 {
			version = "0.19.2" // a 0.20 build whose token line predates PR #41069 (said in its notes)
		}
		if side == "" {
			side = "before"
			if parseVersionF(version) >= 0.20 {
				side = "after"
			}
		}
		// A separate draft model's layers join vLLM's KV groups: a row whose
		// draft is not in the catalog is not covered, as an unknown model.
		draftMissing := ""
		if d := plan.SpeculativeDraft(args); d != "" && known {
			if _, ok := plan.LookupModel(d); !ok {
				draftMissing = d
			}
		}
		var layoutErr error
		if known {
			_, layoutErr = plan.KVFigures(m, args, 1, version)
		}
		why := func() string {
			switch {
			case !known:
				return "model not in the catalog"
			case draftMissing != "":
				return "draft model " + draftMissing + " not in the catalog"
			case layoutErr != nil:
				return "not covered: " + layoutErr.Error()
			case strings.HasPrefix(get(r, "notes"), "arguments incomplete:"):
				return "the source's excerpt cuts the engine's arguments (see its notes)"
			}
			return ""
		}
		total := 0.0
		if g := gibIn.FindStringSubmatch(get(r, "gpu")); g != nil {
			total, _ = strconv.ParseFloat(g[1], 64)
		} else if c, ok := gpu.LookupCard(get(r, "gpu")); ok {
			total = c.TotalGiB
		}
		// (a) the block arithmetic alone, at the batched tokens the engine
		// profiles (sliding windows hold them): vLLM's default for the row's
		// GPU when the row does not set it.
		// The end-to-end estimate, made once for (a)'s batched tokens and for (b).
		var res plan.Result
		estimated := known && why() == "" && total > 0
		if estimated {
			// The row's GPU text names the card: the planner reads its
			// architecture (MXFP4 kernel) and vLLM's A100 defaults from it.
			g, _ := gpu.Declare(get(r, "gpu"), fmt.Sprintf("%gGiB", total), max(1, int(tp)))
			res = plan.Estimate(plan.Input{Model: m, Args: args, GPUs: g, Version: version, Environ: env, Install: inst})
		}
		argsA := args
		if estimated && !args.IsSet("max-num-batched-tokens") && res.BatchedTokens > 0 {
			argsA = vllm.Parse(append(append([]string(nil), argv...), fmt.Sprintf("--max-num-batched-tokens=%d", res.BatchedTokens)))
		}
		a := "—"
		switch {
		case why() != "":
			a = why()
		case approx:
			a = "figures are approximate in the source"
		case hasAvail && hasTokens && tokens > 0:
			_, got := plan.KVTokens(m, argsA, avail, version)
			errPct := 100 * math.Abs(float64(got)-tokens) / tokens
			mark := "ok"
			if errPct > 1 {
				mark = "MISS"
				failures++
			}
			a = fmt.Sprintf("%s: %d vs %d printed (%.2f%%)", mark, got, int(tokens), errPct)
		default:
			a = "lacks available KV memory or tokens"
		}
		// (b) end to end from GPU memory and utilization.
		b, verdict := "—", "—"
		notes := get(r, "notes")
		switch {
		case why() != "":
			b = why()
		case total == 0:
			b = "GPU not stated"
		case !hasUtil:
			b = "utilization not stated"
		case strings.Contains(get(r, "gpu"), "+"):
			b = "mixed GPUs: the row's budget is per GPU and the planner declares one kind"
		case !hasAvail:
			b = "vLLM's available KV memory not stated"
		case m.Multimodal && !plan.EncoderModelled(m, version) && !plan.TextOnly(m, args):
			b = "multimodal: this tower's (or this release's) encoder profile run is not modelled (the planner notes it instead of a budget)"
		case res.EncoderNotSized != "":
			b = "multimodal: the encoder's profile run is not sized (the planner notes it): " + res.EncoderNotSized
		case strings.Contains(strings.ToLower(notes), "lmcache"):
			b = "LMCache connector reserves GPU memory the row does not give"
		case strings.HasPrefix(notes, "shared GPU:"):
			b = "shared GPU: another process allocated memory on it during the profile (see its notes)"
		case strings.Contains(notes, "Ranks disagree"):
			b = "ranks disagree: another GPU held memory the row does not give (see its notes)"
		default:
			got := res.Ranks[0].KV
			if strings.HasPrefix(notes, "warm compile cache:") {
				// The planner plans a first start (a cold compile); this
				// start loaded its compiled graphs, so that memory is KV.
				got += res.ColdCompile
			}
			if *n == explainRow {
				fmt.Fprintf(os.Stderr, "row %d: %s, %d batched tokens, verdict %s\n", *n, strings.Join(args.Canonical(), " "), res.BatchedTokens, res.Verdict)
				for _, l := range res.Explain {
					fmt.Fprintf(os.Stderr, "  %-28s %7.2f GiB  %s\n", l.Name, l.GiB, l.Formula)
				}
				for _, note := range res.Notes {
					fmt.Fprintf(os.Stderr, "  note: %s\n", note)
				}
			}
			d := math.Abs(got - avail)
			mark := "ok"
			if d > 0.5 {
				mark = "MISS"
				failures++
			}
			if inst != plan.InstallUnknown {
				sampler += fmt.Sprintf(" (%s per the source)", inst.Describe())
			}
			b = fmt.Sprintf("%s: %.2f vs %.2f GiB (Δ %.2f)%s", mark, got, avail, d, sampler)
			want := plan.Fits
			low := strings.ToLower(notes)
			switch {
			case get(r, "vllm_verdict") != "":
				want = plan.Verdict(strings.Fields(get(r, "vllm_verdict"))[0])
			case avail <= 0 || (hasTokens && tokens == 0):
				want = plan.NoKVMemory
			case strings.Contains(low, "error") && strings.Contains(low, "max seq len"):
				want = plan.KVTooSmall
			}
			vm := "ok"
			if res.Verdict != want && !(want == plan.Fits && res.Verdict == plan.FitsTight) {
				vm = "MISS"
				failures++
			}
			verdict = fmt.Sprintf("%s: %s (vLLM: %s)", vm, res.Verdict, want)
		}
		if verdict == "—" && known && layoutErr == nil && get(r, "vllm_verdict") != "" && total > 0 && hasUtil && (!m.Multimodal || plan.EncoderModelled(m, version) || plan.TextOnly(m, args)) {
			verdict = "needs the end-to-end figure"
		}
		if *n == explainRow && !strings.HasPrefix(b, "ok") && !strings.HasPrefix(b, "MISS") {
			fmt.Fprintf(os.Stderr, "row %d: no end-to-end estimate (%s)\n", *n, b)
		}
		fmt.Printf("| %d | %s | %s | %s | %s | %s | %s | %s |\n", *n, shortURL(get(r, "source_url")), side, model, get(r, "gpu"), a, b, verdict)
	}
	return failures
}

// samplerEnv turns a row's sampler column into the engine environment that
// makes vLLM take that top-k/top-p path, and the words the table adds to the
// row's end-to-end figure. An empty column passes no variable: the planner's
// default for the release applies.
func samplerEnv(s string) (map[string]string, string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return nil, "", nil
	case "pytorch":
		return map[string]string{"VLLM_USE_FLASHINFER_SAMPLER": "0"}, " (PyTorch sampler per the source)", nil
	case "flashinfer":
		return map[string]string{"VLLM_USE_FLASHINFER_SAMPLER": "1"}, " (FlashInfer sampler per the source)", nil
	}
	return nil, "", fmt.Errorf("sampler %q: write pytorch, flashinfer or leave it empty", s)
}

// install reads a row's install column.
func install(s string) (plan.Install, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return plan.InstallUnknown, nil
	case "image":
		return plan.InstallImage, nil
	case "pip":
		return plan.InstallPip, nil
	}
	return "", fmt.Errorf("install %q: write image, pip or leave it empty", s)
}

// splitArgs splits extra_args on spaces outside JSON braces.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, -1
	for i, c := range s + " " {
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case c == ' ' && depth == 0:
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

func parseVersionF(v string) float64 {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0
	}
	a, _ := strconv.Atoi(parts[0])
	b, _ := strconv.Atoi(parts[1])
	return float64(a) + float64(b)/100
}

// shortURL is "vllm#10517" for a GitHub issue or pull request address.
func shortURL(u string) string {
	if !strings.HasPrefix(u, "https://github.com/") {
		return u
	}
	u = strings.TrimPrefix(u, "https://github.com/")
	parts := strings.Split(u, "/")
	if len(parts) >= 4 {
		repo := parts[1]
		if parts[0] == "vllm-project" && repo == "vllm" {
			repo = "vllm"
		}
		if parts[2] == "blob" || parts[2] == "tree" { // a file: its name, not the commit
			return fmt.Sprintf("[%s/%s](https://github.com/%s)", repo, parts[len(parts)-1], u)
		}
		return fmt.Sprintf("[%s#%s](https://github.com/%s)", repo, parts[3], u)
	}
	return u
}

package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

type planFlags struct {
	gpu         gpuFlags
	modelConfig string
	explain     bool
}

func newPlanCmd(e *env) *cobra.Command {
	var f planFlags
	c := &cobra.Command{
		Use:   "plan [PROFILE...]",
		Short: "Tell whether each profile fits its GPUs, and how much context and concurrency it gets",
		Long: `Plan computes, per profile and per GPU, what vLLM itself will compute at startup:
the budget (total memory × --gpu-memory-utilization), weights per rank, the
activation peak of the profile run, non-torch memory, the CUDA-graph reserve,
the KV cache memory, the KV cache tokens (block size 16, minimum over ranks) and
the maximum concurrency at --max-model-len, then a verdict:

  fits                       starts, with room to spare
  fits-tight                 starts, with under 10% KV headroom or under 1.1x concurrency
  kv-too-small               one request of --max-model-len does not fit: the largest length
                             that does, and the utilization that would fit the requested one
  no-kv-memory               weights and activations use the whole budget (weights above
                             the budget but within the GPU load, then leave no cache)
  weights-do-not-fit         weights (with the profile run) above what the GPU holds: CUDA
                             out of memory while loading or profiling; with the smallest
                             tensor-parallel size or quantization that would fit
  max-model-len-above-model  above the model's positions without RoPE scaling
  not-enough-free-memory     (live GPUs) free memory now is below total × utilization,
                             with the processes holding it
  boot-oom-risk              the budget fits, but what is allocated outside it at boot
                             (the CUDA context, MoE kernel buffers, CUDA graphs the profiler
                             does not count) exceeds the memory left beside it: CUDA out
                             of memory at boot, a crash loop under a restart policy
  engine-refuses             vLLM raises on the configuration at startup whatever the
                             memory (a draft model its release does not run, a draft
                             tensor-parallel size or vocabulary it rejects)
  not-covered                a layer kind the planner does not model (chunked local
                             attention, ...): no number rather than a wrong one

Layer kinds follow vLLM's V1 KV cache manager: full attention, sliding window
(per-layer windows, the hybrid allocator from 0.10; from 0.26 a request
reserves its window plus two batches in flight under async scheduling), MLA
(one latent per token, not split by TP), Gated DeltaNet and Mamba2 (a state per
sequence, the attention block grown so one page holds a state), grouped and
sharing one block pool.
--explain shows the groups. Hybrid models' "GPU KV cache size" is printed as
vLLM of the engine's release prints it (blocks ÷ groups × block up to 0.19,
concurrency × max_model_len from 0.20).

Multimodal models: the profile runs the vision encoder on the largest dummy
images first and keeps their embeddings through the text run. For Qwen-VL
towers and Gemma 3's SigLIP the plan counts it as vLLM sizes it (the budget
and image count vLLM logs, from --max-num-batched-tokens, --max-num-seqs,
--limit-mm-per-prompt and, for Qwen, --mm-processor-kwargs max_pixels); other
towers are counted in the weights and noted.

GPUs come from --gpu/--gpus/--gpu-memory (without --gpus, as many as the profiles
use), else nvidia-smi (CUDA's total: nvidia-smi's less the driver reserve), else
vllmctl.yaml. Totals are what CUDA reports, which vLLM multiplies by the
utilization (an RTX 4090 is 23.99 GiB, an H200 139.80 GiB). In vllmctl.yaml a
GPU that drives a desktop or another service declares what it holds:
  gpus: [{name: RTX 4090, count: 1, held: 2.5GiB, held_by: desktop}, {name: RTX 4090, count: 2}]
Model facts come from --model-config, x-vllmctl.model_config, a mounted Hugging
Face cache, or the built-in catalog. --explain prints each formula and its inputs.

The release (image tag, Dockerfile FROM, x-vllmctl.vllm_version; for an image
that names none, such as vllm/vllm-openai:latest, the local image's
VLLM_IMAGE_TAG or the day it was created) decides vLLM's
defaults and rules: --gpu-memory-utilization defaults to 0.92 from 0.20 (0.9
before, and for a release that cannot be told); the V0 engine (before 0.8)
chunks prefill above 32K of context and then profiles 512 tokens; CUDA graphs
are subtracted from the budget from 0.20 (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS)
except on Model Runner V2 before 0.29 (dense models from 0.25, Qwen3 from 0.22,
Llama and Mistral from 0.23), whose estimate is 0: there they must fit beside
the budget; that runner's profile sampler skips top-k/top-p (6 B per logit)
and holds a max_num_seqs × vocabulary table. How vLLM is installed (its own vllm/vllm-openai image or not)
decides whether FlashInfer's sampler exists on 0.9–0.11.0. The profile run's
activation is the larger of the forward pass (a MoE layer's fused-MoE buffers)
and the sampler warm-up over min(max_num_seqs, batched tokens) × vocabulary;
from 0.27 it also holds 0.75 GiB (less for models under 2B parameters) for a
cold torch.compile, which vLLM charges as activation on a first start with an
empty compile cache (vllm#54383; a restart with a persistent /root/.cache/vllm
gets it back; none with --enforce-eager or -O0). From 0.22 Gemma 4's unset --max-num-batched-tokens
is raised to its video item, 2,496. CUDA graphs follow the capture sizes
max_num_seqs gives.`,
		Example: `  vllmctl plan
  vllmctl plan medium --explain
  vllmctl plan --gpu "RTX 4090" --gpus 3
  vllmctl plan -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			for _, name := range args {
				if _, err := p.Profile(name); err != nil {
					return &exitError{code: ExitUsage, err: err}
				}
			}
			pp, err := e.planProject(p, f, args)
			if err != nil {
				return err
			}
			if len(p.Profiles) == 0 && e.output == formatTable {
				// Nothing to plan: say how to get profiles rather than an empty table.
				fmt.Fprintln(e.stdout, p.NoProfilesHint())
				return nil
			}
			if e.output != formatTable {
				if err := writeData(e.stdout, e.output, pp); err != nil {
					return err
				}
			} else {
				renderPlan(e.stdout, pp, f.explain)
			}
			for _, en := range pp.Engines {
				if en.Verdict.Failing() {
					return &exitError{code: ExitFindings}
				}
			}
			return nil
		},
	}
	f.gpu.register(c)
	c.Flags().StringVar(&f.modelConfig, "model-config", "", "a model's config.json (or its folder) to use instead of the catalog")
	c.Flags().BoolVar(&f.explain, "explain", false, "print each figure's formula and inputs")
	addOutput(c, e)
	return c
}

func (e *env) planProject(p *project.Project, f planFlags, only []string) (plan.ProjectPlan, error) {
	g := f.gpu
	if (g.card != "" || g.memory != "") && g.count == 0 && p != nil {
		g.count = gpusUsed(p, only)
	}
	gpus, src, err := e.inventory(p, g)
	if err != nil {
		return plan.ProjectPlan{}, err
	}
	return plan.PlanProject(p, plan.ProjectInput{GPUs: gpus, GPUSource: src, Live: src == "nvidia-smi",
		ModelConfig: f.modelConfig, Profiles: only}), nil
}

func renderPlan(w io.Writer, pp plan.ProjectPlan, explain bool) {
	src := pp.GPUSource
	if src == "" {
		src = "none (pass --gpu \"RTX 4090\" --gpus N)"
	}
	fmt.Fprintf(w, "GPUs: %d from %s\n", len(pp.GPUs), src)
	for _, g := range pp.GPUs {
		if g.HeldMiB > 0 {
			by := g.HeldBy
			if by == "" {
				by = "something else"
			}
			fmt.Fprintf(w, "  GPU %d: %.2f GiB held by %s (free %.2f of %.2f GiB)\n", g.Index, float64(g.HeldMiB)/1024, by, g.FreeGiB(), g.CUDATotalGiB())
		}
	}
	for _, en := range pp.Engines {
		tp := "?"
		if en.TP > 0 {
			tp = strconv.Itoa(en.TP)
		}
		model := en.Model
		if model == "" {
			model = "model ?"
		}
		fmt.Fprintf(w, "\nprofile %s (%s, service %s, TP %s, GPUs %s)\n", en.Profile, model, en.Service, tp, joinOr(en.GPUIDs, "none"))
		if en.ModelSource != "" {
			fmt.Fprintf(w, "  model facts: %s\n", en.ModelSource)
		}
		if explain || en.ReleaseAssumed {
			rel := en.Release
			switch {
			case rel == "":
				rel = "unknown (0.11.0's rules apply: pin the image tag, set x-vllmctl.vllm_version, or have the image on this machine for vllmctl to read)"
			case en.ReleaseAssumed:
				rel += " (" + en.ReleaseFrom + "; pin the image tag to plan another)"
			case en.ReleaseFrom != "":
				rel += " (" + en.ReleaseFrom + ")"
			}
			fmt.Fprintf(w, "  vLLM: %s; %s\n", rel, en.Install.Describe())
		}
		if len(en.Ranks) > 0 {
			t := newTable(w, "  RANK", "GPU", "TOTAL", "BUDGET", "WEIGHTS", "ACTIVATION", "NON-TORCH", "GRAPHS", "KV CACHE")
			for _, r := range en.Ranks {
				graphs := fmt.Sprintf("%.2f", r.Graphs)
				if !r.GraphsInBudget && r.Graphs > 0 {
					graphs += " (outside)"
				}
				t.row(fmt.Sprintf("  %d", r.Rank), r.GPU, gibs(r.TotalGiB), gibs(r.Budget), gibs(r.Weights), gibs(r.Activation), gibs(r.NonTorch), graphs, gibs(r.KV))
			}
			_ = t.flush()
			if en.Layout != nil && en.Layout.Hybrid {
				fmt.Fprintf(w, "  KV cache: %s blocks shared by %d groups (%s); vLLM prints %s tokens (%s); max concurrency at %s tokens: %.2fx\n",
					vllm.Commas(en.KVBlocks), len(en.Layout.Groups), en.LayerMix, vllm.Commas(en.KVTokens), en.TokensFormula, vllm.Commas(en.MaxModelLen), en.Concurrency)
			} else {
				bs := plan.BlockSize
				if en.Layout != nil && len(en.Layout.Groups) > 0 {
					bs = en.Layout.Groups[0].BlockSize
				}
				fmt.Fprintf(w, "  KV cache: %s tokens (%s blocks of %d, min over ranks); max concurrency at %s tokens: %.2fx\n",
					vllm.Commas(en.KVTokens), vllm.Commas(en.KVBlocks), bs, vllm.Commas(en.MaxModelLen), en.Concurrency)
			}
		}
		if len(en.Ranks) == 0 && en.BytesPerToken > 0 && en.NeedGiB > 0 {
			// No GPU to plan on: what the model needs per GPU still holds.
			fmt.Fprintf(w, "  KV cache per GPU: %s B per token (%s); one request of %s tokens needs %.2f GiB\n",
				vllm.Commas(en.BytesPerToken), cmp.Or(en.LayerMix, "full attention"), vllm.Commas(en.MaxModelLen), en.NeedGiB)
		}
		fmt.Fprintf(w, "  verdict: %s\n", en.Verdict)
		for _, r := range en.Reasons {
			fmt.Fprintf(w, "    %s\n", r)
		}
		for _, fix := range en.Fixes {
			fmt.Fprintf(w, "  fix: %s\n", fix)
		}
		for _, n := range en.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if explain {
			fmt.Fprintln(w, "  how:")
			for _, l := range en.Explain {
				if strings.Contains(l.Name, "bytes") || strings.HasPrefix(l.Name, "KV group") || l.Name == "KV page" || l.Name == "KV blocks" {
					fmt.Fprintf(w, "    %-32s %12s  = %s\n", l.Name, "", l.Formula)
					continue
				}
				fmt.Fprintf(w, "    %-32s %8.2f GiB  = %s\n", l.Name, l.GiB, l.Formula)
			}
		}
	}
	if len(pp.Usage) > 0 {
		fmt.Fprintln(w, "\nGPU shares (sum of --gpu-memory-utilization per GPU):")
		t := newTable(w, "  GPU", "PROFILES", "SUM")
		for _, u := range pp.Usage {
			sum := fmt.Sprintf("%.2f", u.Sum)
			switch {
			case u.Sum > 1:
				sum += " (over)"
			case len(u.Unknown) == len(u.Profiles):
				sum = "?" // nothing known
			}
			if len(u.Unknown) > 0 && len(u.Unknown) < len(u.Profiles) {
				sum += " + ?"
			}
			if len(u.Unknown) > 0 {
				sum += " (utilization unknown: " + strings.Join(u.Unknown, ", ") + ")"
			}
			if len(u.Alternatives) > 0 {
				sum += " (alternatives behind compose profiles, the largest counted: " + strings.Join(u.Alternatives, ", ") + ")"
			}
			t.row("  "+u.GPU, strings.Join(u.Profiles, ", "), sum)
		}
		_ = t.flush()
	}
	if len(pp.Pairs) > 0 {
		fmt.Fprintln(w, "\nTogether:")
		t := newTable(w, "  PROFILES", "TOGETHER", "WHY")
		for _, p := range pp.Pairs {
			ok := "yes"
			if !p.OK {
				ok = "NO"
			}
			t.row("  "+strings.Join(p.Profiles, " + "), ok, p.Reason)
		}
		_ = t.flush()
	}
}

func gibs(f float64) string { return fmt.Sprintf("%.2f", f) }

// gpusUsed is how many GPUs the largest engine of the profiles (all when
// only is empty) uses: its TP×PP, or past its highest device id. --gpu or
// --gpu-memory alone declares that many.
func gpusUsed(p *project.Project, only []string) int {
	n := 1
	for _, pr := range p.Profiles {
		if len(only) > 0 && !slices.Contains(only, pr.Name) {
			continue
		}
		for _, s := range pr.Engines() {
			n = max(n, s.Args.GPUsNeeded())
			for _, id := range s.GPUs.IDs {
				if k, err := strconv.Atoi(id); err == nil {
					n = max(n, k+1)
				}
			}
		}
	}
	return n
}

package plan

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// ProjectInput is what PlanProject needs besides the project.
type ProjectInput struct {
	GPUs        []gpu.GPU // the inventory; empty means unknown
	GPUSource   string    // where the inventory came from (nvidia-smi, vllmctl.yaml, flags)
	Live        bool      // measured now: free memory is checked
	ModelConfig string    // --model-config FILE for every engine (overrides the catalog)
	Profiles    []string  // restrict to these; default all
}

// EnginePlan is the plan of one engine of one profile.
type EnginePlan struct {
	Profile string   `json:"profile"`
	Service string   `json:"service"`
	GPUIDs  []string `json:"gpus"`
	// ReleaseFrom says where the release planned with (Result.Release) was
	// read, or that it is assumed.
	ReleaseFrom string `json:"vllm_version_from,omitempty"`
	// ReleaseAssumed: no file or local image names the release; the
	// image pulls the newest and the newest vllmctl knows was planned.
	ReleaseAssumed bool `json:"vllm_version_assumed,omitempty"`
	Result
}

// Pair tells whether two profiles can run at the same time.
type Pair struct {
	A, B     string   `json:"-"`
	Profiles []string `json:"profiles"`
	OK       bool     `json:"ok"`
	Shared   []string `json:"shared_gpus,omitempty"`
	Reason   string   `json:"reason"`
}

// GPUUse is the sum of utilization shares on one GPU.
type GPUUse struct {
	GPU      string   `json:"gpu"`
	Profiles []string `json:"profiles"`
	Sum      float64  `json:"utilization_sum"`
	// Unknown lists the profiles whose utilization cannot be read here
	// (not in Sum, which is then a lower bound).
	Unknown []string `json:"utilization_unknown,omitempty"`
	// Alternatives lists the engines (profile/service) behind compose
	// profiles that are not active: started one at a time, only the
	// largest of their shares is in Sum.
	Alternatives []string `json:"alternatives,omitempty"`
}

// ProjectPlan is the plan of a whole project.
type ProjectPlan struct {
	GPUSource string       `json:"gpu_source"`
	GPUs      []gpu.GPU    `json:"gpus"`
	Engines   []EnginePlan `json:"engines"`
	Usage     []GPUUse     `json:"gpu_usage"`
	Pairs     []Pair       `json:"together"`
}

// PlanProject plans every engine of the project and tells which profiles can
// run at the same time.
//
// An engine that cannot be estimated still says its parallel sizes: as
// written or vLLM's default of 1, 0 (shown "?") when they are unknown here.
func PlanProject(p *project.Project, in ProjectInput) ProjectPlan {
	in.GPUs = applyHeld(p.Config.GPUs, in.GPUs)
	out := ProjectPlan{GPUSource: in.GPUSource, GPUs: in.GPUs}
	use := map[string]*GPUUse{}
	perProfile := map[string]map[string]float64{} // profile -> gpu -> util
	// Engines behind compose profiles that are not active are alternatives
	// (started one at a time with --profile): the largest share counts.
	gatedMax := map[string]map[string]float64{} // profile -> gpu -> largest gated util
	for _, pr := range p.Profiles {
		if len(in.Profiles) > 0 && !slices.Contains(in.Profiles, pr.Name) {
			continue
		}
		for _, s := range pr.Engines() {
			ep := EnginePlan{Profile: pr.Name, Service: s.Name}
			gpus, ids, note := assign(s, in.GPUs)
			ep.GPUIDs = ids
			m, src, err := resolveModel(p, s, in.ModelConfig)
			if unknown := unknownInputs(s); len(unknown) > 0 {
				how := "set the variables in .env, or write the flags in the compose file"
				if s.Args.Opaque != "" {
					how = "they are set by " + s.Args.Opaque + ": write the flags in the compose file's command"
				}
				why := "cannot plan: " + strings.Join(unknown, ", ") + " unknown here (" + how + ")"
				ep.Result = Result{Model: s.Args.Model, TP: knownSize(&s.Args, "tensor-parallel-size", s.Args.TensorParallelSize), PP: knownSize(&s.Args, "pipeline-parallel-size", s.Args.PipelineParallelSize), Verdict: Unknown, NoPrediction: why, Notes: []string{why}}
			} else if err != nil {
				ep.Result = Result{Model: s.Args.Model, TP: knownSize(&s.Args, "tensor-parallel-size", s.Args.TensorParallelSize), PP: knownSize(&s.Args, "pipeline-parallel-size", s.Args.PipelineParallelSize), Verdict: Unknown, NoPrediction: err.Error(), Notes: []string{err.Error()}}
			} else {
				noGPU := ""
				if len(gpus) == 0 && len(in.GPUs) > 0 {
					noGPU = note
				}
				draft, _ := resolveDraft(p, s)
				env := engineEnviron(p, s)
				cacheDir, cacheMounted := compileCache(s, env)
				ep.Result = Estimate(Input{Model: m, Draft: draft, Args: s.Args, GPUs: gpus, Version: engineVersion(s), Environ: env, Install: engineInstall(s), Live: in.Live, NoGPUWhy: noGPU,
					CompileCacheDir: cacheDir, CompileCacheMounted: cacheMounted})
				ep.ModelSource = src
				if ep.Model == "" && s.Args.SourceOf("model") == vllm.FromDefault {
					ep.Model, _ = s.Args.Effective("model")
					ep.Notes = append(ep.Notes, "no model is written: vLLM serves its default model "+ep.Model+", planned here (write --model to serve another)")
				}
				if _, ok := s.Version.Planned(); ok {
					ep.ReleaseFrom, ep.ReleaseAssumed = s.Version.Source(), s.Version.From == project.VersionAssumedNewest
				}
				if noGPU != "" {
					note = ""
				}
			}
			if note != "" {
				ep.Notes = append(ep.Notes, note)
			}
			out.Engines = append(out.Engines, ep)
			if perProfile[pr.Name] == nil {
				perProfile[pr.Name] = map[string]float64{}
			}
			for _, id := range ids {
				u := use[id]
				if u == nil {
					u = &GPUUse{GPU: id}
					use[id] = u
				}
				u.Profiles = append(u.Profiles, pr.Name)
				if s.Args.SourceOf("gpu-memory-utilization") == vllm.FromUnknown {
					u.Unknown = append(u.Unknown, pr.Name)
					continue
				}
				if len(s.Gated) > 0 && !slices.ContainsFunc(s.Gated, func(g string) bool { return slices.Contains(p.ComposeProfiles(), g) }) {
					u.Alternatives = append(u.Alternatives, pr.Name+"/"+s.Name)
					if gatedMax[pr.Name] == nil {
						gatedMax[pr.Name] = map[string]float64{}
					}
					gatedMax[pr.Name][id] = max(gatedMax[pr.Name][id], s.Args.GPUMemoryUtilization)
					if _, ok := perProfile[pr.Name][id]; !ok {
						perProfile[pr.Name][id] = 0
					}
					continue
				}
				u.Sum += s.Args.GPUMemoryUtilization
				perProfile[pr.Name][id] += s.Args.GPUMemoryUtilization
			}
		}
	}
	for name, byGPU := range gatedMax {
		for id, m := range byGPU {
			use[id].Sum += m
			perProfile[name][id] += m
		}
	}
	for _, id := range slices.Sorted(maps.Keys(use)) {
		u := *use[id]
		u.Sum = round2(u.Sum)
		out.Usage = append(out.Usage, u)
	}
	names := slices.Sorted(maps.Keys(perProfile))
	for i := 0; i < len(names); i++ {
		for j := i + 1; j < len(names); j++ {
			a, b := names[i], names[j]
			pair := Pair{A: a, B: b, Profiles: []string{a, b}, OK: true}
			var parts []string
			for _, id := range slices.Sorted(maps.Keys(perProfile[a])) {
				if ub, ok := perProfile[b][id]; ok {
					ua := perProfile[a][id]
					pair.Shared = append(pair.Shared, id)
					parts = append(parts, fmt.Sprintf("GPU %s: %.2f + %.2f = %.2f", id, ua, ub, ua+ub))
					if ua+ub > 1.0+1e-9 {
						pair.OK = false
					}
				}
			}
			switch {
			case len(pair.Shared) == 0:
				pair.Reason = "no shared GPU"
			case pair.OK:
				pair.Reason = strings.Join(parts, "; ")
			default:
				pair.Reason = strings.Join(parts, "; ") + ": more than the GPU"
			}
			out.Pairs = append(out.Pairs, pair)
		}
	}
	return out
}

// assign maps a service's GPU selection onto the inventory.
func assign(s *project.Service, inv []gpu.GPU) ([]gpu.GPU, []string, string) {
	need := s.Args.GPUsNeeded()
	var out []gpu.GPU
	var ids []string
	switch {
	case len(s.GPUs.IDs) > 0:
		ids = s.GPUs.IDs
		used := map[int]bool{}
		for _, id := range ids {
			found := false
			for i, g := range inv {
				if fmt.Sprint(g.Index) == id || g.UUID == id || (strings.HasPrefix(id, "GPU-") && strings.HasPrefix(g.UUID, id)) {
					out = append(out, g)
					used[i], found = true, true
				}
			}
			if !found && len(inv) > 0 && allDeclared(inv) {
				// Declared cards are interchangeable: a UUID or an index past the
				// declared count takes the next declared GPU not yet used.
				for i, g := range inv {
					if !used[i] {
						out = append(out, g)
						used[i], found = true, true
						break
					}
				}
			}
			if !found && len(inv) > 0 && allDeclared(inv) {
				return nil, ids, fmt.Sprintf("the engine needs %d GPUs (device_ids %s) and %d are declared: declare more (--gpus %d)", max(need, len(ids)), strings.Join(ids, ","), len(inv), max(need, len(ids)))
			}
			if !found && len(inv) > 0 {
				return nil, ids, fmt.Sprintf("GPU %s of device_ids is not in the inventory (%d GPUs: %s): plan on the GPUs the service names, or correct device_ids", id, len(inv), indexList(inv))
			}
		}
	case len(inv) > 0:
		n := need
		if s.GPUs.Count > 0 {
			n = s.GPUs.Count
		}
		for i := 0; i < n && i < len(inv); i++ {
			out = append(out, inv[i])
			ids = append(ids, fmt.Sprint(inv[i].Index))
		}
	}
	if len(out) > 0 && len(out) < need {
		return nil, ids, fmt.Sprintf("the engine needs %d GPUs (tensor × pipeline parallel) and the inventory gives it %d (%s): declare more (--gpus %d) or lower --tensor-parallel-size", need, len(out), indexList(out), need)
	}
	return out, ids, ""
}

func allDeclared(inv []gpu.GPU) bool {
	for _, g := range inv {
		if !g.Declared {
			return false
		}
	}
	return true
}

func indexList(gs []gpu.GPU) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, fmt.Sprint(g.Index))
	}
	return strings.Join(parts, ",")
}

// resolveModel finds the model's architecture: --model-config, then
// x-vllmctl.model_config, then a mounted Hugging Face cache holding it, then a
// local model folder, then the catalog.
func resolveModel(p *project.Project, s *project.Service, override string) (Model, string, error) {
	if override != "" {
		m, err := LoadConfigJSON(override)
		return m, override, err
	}
	if s.Ext != nil && s.Ext.ModelConfig != "" {
		path := s.Ext.ModelConfig
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.Root, path)
		}
		m, err := LoadConfigJSON(path)
		return m, p.Rel(path), err
	}
	name := s.Args.Model
	if name == "" && s.Args.SourceOf("model") == vllm.FromDefault {
		name, _ = s.Args.Effective("model") // vLLM serves its default model
	}
	if m, src, ok := resolveName(p, s, name); ok {
		return m, src, nil
	}
	return Model{}, "", fmt.Errorf("model %q is not in the catalog and no config.json was found: pass --model-config path/to/config.json or set x-vllmctl.model_config", name)
}

// resolveDraft finds the config of the draft model that --speculative-config
// (or --speculative-model) names, the way the target's is found without
// overrides: a mounted Hugging Face cache, a local folder, the catalog.
func resolveDraft(p *project.Project, s *project.Service) (*Model, string) {
	name := SpeculativeDraft(s.Args)
	if name == "" {
		return nil, ""
	}
	if m, src, ok := resolveName(p, s, name); ok {
		return &m, src
	}
	return nil, ""
}

// resolveName looks a model name up in the service's mounted Hugging Face
// cache, as a local folder, then in the catalog.
func resolveName(p *project.Project, s *project.Service, name string) (Model, string, bool) {
	for _, v := range s.Config.Volumes {
		if v.Type != "bind" || !strings.Contains(v.Target, "huggingface") {
			continue
		}
		repo := "models--" + strings.ReplaceAll(name, "/", "--")
		for _, hub := range []string{filepath.Join(v.Source, "hub", repo), filepath.Join(v.Source, repo)} {
			snaps, _ := filepath.Glob(filepath.Join(hub, "snapshots", "*", "config.json"))
			slices.Sort(snaps)
			if len(snaps) > 0 {
				m, err := LoadConfigJSON(filepath.Dir(snaps[len(snaps)-1]))
				if err == nil {
					m.CheckpointQ = firstNonEmpty(m.CheckpointQ, CheckpointQuant(name))
					return m, "hf cache " + filepath.Dir(snaps[len(snaps)-1]), true
				}
			}
		}
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		if m, err := LoadConfigJSON(name); err == nil {
			return m, name, true
		}
	}
	if m, ok := LookupModel(name); ok {
		return m, "catalog (" + m.ID + ")", true
	}
	return Model{}, "", false
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Diagnostics turns failing verdicts into check findings at the profile's
// --max-model-len (or service) position, so a bad profile fails before `up`.
func Diagnostics(p *project.Project, pp ProjectPlan) []project.Diagnostic {
	out := heldDiagnostics(p)
	for _, e := range pp.Engines {
		if !e.Verdict.Failing() && e.Verdict != FitsTight {
			continue
		}
		pr, err := p.Profile(e.Profile)
		if err != nil {
			continue
		}
		svc := pr.Service(e.Service)
		pos := pr.ServicePos(e.Service)
		if arg, ok := svc.Args.Lookup("max-model-len"); ok {
			pos = pr.ArgPos(svc, arg.Index, strings.SplitN(svc.Argv[arg.Index], "=", 2)[0])
		}
		sev := project.Error
		if e.Verdict == FitsTight {
			sev = project.Warning
		}
		out = append(out, project.Diagnostic{Pos: pos, Severity: sev, Code: "plan-" + string(e.Verdict),
			Path: "services." + e.Service + ".command", Message: fmt.Sprintf("plan on %s: %s", orWord(pp.GPUSource, "the GPUs given"), strings.Join(e.Reasons, "; ")),
			Hint: strings.Join(e.Fixes, "; ")})
	}
	return out
}

// engineVersion is the engine's pinned vLLM release, or "" (the estimator's default).
// engineEnviron is what the engine's process sees of the variables the plan
// reads (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS,
// VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE, VLLM_USE_FLASHINFER_SAMPLER,
// ...): the project's environment (shell, .env) overlaid with the service's
// own environment: entries, as Compose passes them to the container.
func engineEnviron(p *project.Project, s *project.Service) map[string]string {
	base := p.Environ()
	if s == nil || len(s.Config.Environment) == 0 {
		return base
	}
	env := make(map[string]string, len(base)+len(s.Config.Environment))
	for k, v := range base {
		env[k] = v
	}
	for k, v := range s.Config.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// compileCache is the folder vLLM keeps its torch.compile cache in inside
// the engine's container (VLLM_CACHE_ROOT, else the official image's
// /root/.cache/vllm) and whether one of the service's volumes or binds holds
// it (mounted there or at a folder above it).
func compileCache(s *project.Service, env map[string]string) (string, bool) {
	dir := "/root/.cache/vllm"
	if v := strings.TrimRight(env["VLLM_CACHE_ROOT"], "/"); strings.HasPrefix(v, "/") {
		dir = v
	}
	_, _, held := s.MountHolding(dir, func(v types.ServiceVolumeConfig) bool {
		return v.Type != types.VolumeTypeTmpfs && strings.TrimRight(v.Target, "/") != ""
	})
	return dir, held
}

// engineInstall is how the engine's vLLM is installed, as far as its image or
// Dockerfile tells: vLLM's own CUDA image, else unknown (the -rocm and -cpu
// images have no FlashInfer).
func engineInstall(s *project.Service) Install {
	if project.OfficialCUDAImage(s.Config.Image) || s.Dockerfile != nil && project.OfficialCUDAImage(s.Dockerfile.From) {
		return InstallImage
	}
	return InstallUnknown
}

func engineVersion(s *project.Service) string {
	if v, ok := s.Version.Planned(); ok {
		return v.String()
	}
	return ""
}

// unknownInputs names the flags the estimate needs whose values cannot be known.
func unknownInputs(s *project.Service) []string {
	var out []string
	for _, f := range []string{"model", "tensor-parallel-size", "pipeline-parallel-size", "gpu-memory-utilization", "max-model-len", "kv-cache-dtype", "max-num-seqs", "quantization"} {
		if s.Args.SourceOf(f) == vllm.FromUnknown {
			out = append(out, "--"+f)
		}
	}
	return out
}

// applyHeld marks the memory vllmctl.yaml says something else holds on its
// declared GPUs (gpus: [{name, count, held, held_by}]). It applies only to an
// inventory declared from those settings: the same GPUs, in their order.
func applyHeld(decls []project.GPUDecl, inv []gpu.GPU) []gpu.GPU {
	any := false
	for _, d := range decls {
		any = any || d.Held != ""
	}
	if !any || !allDeclared(inv) {
		return inv
	}
	var held []gpu.GPU
	for _, d := range decls {
		g, err := gpu.Declare(d.Name, d.Memory, d.Count)
		if err != nil {
			return inv
		}
		var mib int64
		if d.Held != "" {
			v, err := gpu.ParseSize(d.Held)
			if err != nil {
				return inv
			}
			mib = int64(v * 1024)
		}
		for i := range g {
			if mib > 0 {
				g[i].Hold(mib, d.HeldBy)
			}
			held = append(held, g[i])
		}
	}
	if len(held) != len(inv) {
		return inv
	}
	out := make([]gpu.GPU, len(inv))
	for i, g := range inv {
		if g.Name != held[i].Name || g.TotalMiB != held[i].TotalMiB {
			return inv
		}
		out[i] = g
		if held[i].HeldMiB > 0 {
			out[i].Hold(held[i].HeldMiB, held[i].HeldBy)
		}
	}
	return out
}

// heldDiagnostics checks the held: sizes of vllmctl.yaml's gpus: settings,
// located at the n-th held: line of the file.
func heldDiagnostics(p *project.Project) []project.Diagnostic {
	var out []project.Diagnostic
	var lines []int
	if data, err := os.ReadFile(filepath.Join(p.Root, project.ConfigFile)); err == nil {
		for n, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "held:") {
				lines = append(lines, n+1)
			}
		}
	}
	k := 0
	for i, d := range p.Config.GPUs {
		if d.Held == "" {
			continue
		}
		line := 1
		if k < len(lines) {
			line = lines[k]
		}
		k++
		v, err := gpu.ParseSize(d.Held)
		if err == nil {
			g, derr := gpu.Declare(d.Name, d.Memory, 1)
			if derr != nil || v < g[0].CUDATotalGiB() {
				continue
			}
			err = fmt.Errorf("held %s is not below the GPU's %.2f GiB", d.Held, g[0].CUDATotalGiB())
		}
		out = append(out, project.Diagnostic{Pos: project.Pos{File: project.ConfigFile, Line: line}, Severity: project.Error, Code: "bad-setting",
			Path: fmt.Sprintf("gpus.%d.held", i), Message: err.Error(), Hint: "write the memory something else holds on each of these GPUs, e.g. held: 2.5GiB"})
	}
	return out
}

// knownSize is a parallel size as the engine runs it (vLLM's default 1 when
// not written), 0 when it cannot be known here.
func knownSize(a *vllm.Args, flag string, v int) int {
	if !a.Known(flag) {
		return 0
	}
	return max(1, v)
}

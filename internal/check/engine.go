package check

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/shellcmd"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
	"go.yaml.in/yaml/v4"
)

// profile checks one profile: its engines, their flags, GPUs, ports, image,
// caches, shared memory, healthcheck, secrets and x-vllmctl block.
func (c *checker) profile(pr *project.Profile) {
	c.rawChecks(pr)
	if pr.Compose == nil && !pr.Relaxed {
		return
	}
	engines := pr.Engines()
	if len(engines) == 0 {
		c.diag(project.Pos{File: pr.File, Line: 1}, project.Warning, "no-engine", "",
			"no vLLM engine found in this profile",
			"use a vllm/vllm-openai image, a `vllm serve` command, or mark the service with x-vllmctl: {engine: true}")
	}
	for _, svc := range pr.Services {
		if svc.ExtRaw != nil {
			c.ext(pr, svc)
		}
	}
	for _, svc := range engines {
		c.engine(pr, svc)
	}
	c.sidecars(pr)
	c.composeProfiles(pr, engines)
}

// composeProfiles tells when every engine of a profile sits behind a compose
// profile that is not active: docker compose up (and vllmctl up) starts none
// of them. Alternatives behind profiles are fine; choosing none is the defect.
func (c *checker) composeProfiles(pr *project.Profile, engines []*project.Service) {
	which, choose, ok := pr.GatedEngines()
	if pr.Compose == nil || !ok {
		return
	}
	first := engines[0]
	c.diag(pr.ServicePos(first.Name), project.Warning, "compose-profile-inactive", "services."+first.Name+".profiles",
		"every vLLM engine of this profile runs only under a compose profile: "+which+"; none is active, so docker compose up and vllmctl up start no engine",
		fmt.Sprintf("choose one with COMPOSE_PROFILES=%s in .env (or the environment), as docker compose --profile %s does", choose, choose))
}

// sidecars reports helpers that drive containers through the Docker socket
// (watchdogs, restarters) and name a vLLM container no profile defines: they
// act on nothing, silently.
func (c *checker) sidecars(pr *project.Profile) {
	known := map[string]bool{}
	for _, p := range c.p.Profiles {
		for _, s := range p.Services {
			known[s.Name] = true
			if s.Config.ContainerName != "" {
				known[s.Config.ContainerName] = true
			}
		}
	}
	for _, svc := range pr.Services {
		if svc.Engine || !mountsDockerSocket(svc) {
			continue
		}
		var texts []string
		texts = append(texts, svc.Config.Entrypoint...)
		texts = append(texts, svc.Config.Command...)
		for k, v := range svc.Config.Environment {
			if v != nil {
				texts = append(texts, k+"="+*v)
			}
		}
		seen := map[string]bool{}
		for _, t := range texts {
			for _, w := range containerWords.FindAllString(t, -1) {
				if known[w] || seen[w] || vllm.HasUnknown(w) || strings.Contains(w, ".") || !strings.ContainsAny(w, "-_") {
					continue
				}
				seen[w] = true
				c.diag(pr.ServicePos(svc.Name), project.Warning, "sidecar-target", "services."+svc.Name,
					fmt.Sprintf("%s has the Docker socket and names container %q, which no profile defines", svc.Name, w),
					"use a container_name a profile sets, or find engines by the label com.docker.compose.service")
			}
		}
	}
}

// containerWords are words that look like a vLLM container's name.
var containerWords = regexp.MustCompile(`\b[A-Za-z0-9_.-]*vllm[A-Za-z0-9_.-]*[A-Za-z0-9]\b`)

func mountsDockerSocket(svc *project.Service) bool {
	for _, v := range svc.Config.Volumes {
		if strings.HasSuffix(v.Source, "docker.sock") || strings.HasSuffix(v.Target, "docker.sock") {
			return true
		}
	}
	return false
}

func (c *checker) ext(pr *project.Profile, svc *project.Service) {
	base := "services." + svc.Name + "." + project.ExtKey
	raw := svc.ExtRaw
	if m, ok := raw.(map[string]any); ok {
		if _, old := m["readiness"]; old {
			// earlier READMEs showed readiness as accepted: a warning, not an error
			pos, ok := pr.PosOf(base + ".readiness")
			if !ok {
				pos, _ = pr.KeyPos(base)
			}
			c.diag(pos, project.Warning, "x-vllmctl", base+".readiness",
				"x-vllmctl.readiness is not read by vllmctl: its settings have no effect",
				"delete it; use `up --stall-timeout` and `up --no-completion-probe` for a deploy, x-vllmctl.watchdog.stall_after for the watchdog")
			rest := make(map[string]any, len(m))
			for k, v := range m {
				if k != "readiness" {
					rest[k] = v
				}
			}
			raw = rest
		}
	}
	for _, e := range project.ValidateExt(raw) {
		path := base
		if e.Path != "" {
			path += "." + e.Path
		}
		pos, ok := pr.PosOf(path)
		if !ok {
			pos, _ = pr.KeyPos(base)
		}
		c.diag(pos, project.Error, "x-vllmctl", path, e.Message, "see `vllmctl schema` for the allowed keys")
	}
}

func (c *checker) engine(pr *project.Profile, svc *project.Service) {
	a := &svc.Args
	sp := "services." + svc.Name
	cmdPath := sp + ".command"
	c.binds(pr, svc)
	if svc.Wrapped != "" {
		pos, ok := pr.PosOf(sp + ".entrypoint")
		if !ok {
			pos = pr.ServicePos(svc.Name)
		}
		c.diag(pos, project.Info, "engine-wrapped", sp+".entrypoint",
			fmt.Sprintf("the engine is started by %q, which vllmctl cannot read here: its vLLM flags are unknown and not checked", svc.Wrapped),
			"mount the script from the project (a bind or the build context) so vllmctl can read it, or put the flags in command:")
		c.image(pr, svc)
		return
	}
	argPos := func(idx int, flag string) project.Pos {
		text := flag
		if idx >= 0 && idx < len(svc.Argv) {
			text, _, _ = strings.Cut(svc.Argv[idx], "=")
		}
		return pr.ArgPos(svc, idx, text)
	}
	ver := svc.Version
	c.splitScript(pr, svc)
	commented := c.commandComments(pr, svc)
	if svc.LauncherTwice {
		c.diag(argPos(svc.ArgvOffset, ""), project.Error, "launcher-twice", cmdPath,
			fmt.Sprintf("the command starts vLLM (%s) but the image %s already does in its entrypoint: the command's words reach vLLM as arguments and it exits with `unrecognized arguments`", a.Launcher, svc.Config.Image),
			"drop the launcher and keep the flags (command: [\"--model\", ...]), or set entrypoint: [\"python3\", \"-m\", \"vllm.entrypoints.openai.api_server\"]")
	}
	for _, pb := range a.Problems {
		if pb.Index >= 0 && pb.Index < len(svc.Argv) && commented[svc.Argv[pb.Index]] {
			continue // reported once, as the '#' line it comes from
		}
		if pb.Kind == vllm.MissingValue && c.emptiedByUnset(pr, svc, pb, argPos(pb.Index, "--"+pb.Flag), cmdPath) {
			continue // said once, on the unset variable that empties it
		}
		sev := project.Error
		code := "flag-" + string(pb.Kind)
		msg, hint := pb.Message, pb.Hint
		if pb.Kind == vllm.UnknownFlag {
			// No release vllmctl knows has this flag. Only a pinned release that
			// the tables cover certainly lacks it.
			if !handTableCovers(ver) {
				sev = project.Warning
				code = "flag-unverified"
				msg = fmt.Sprintf("--%s is in no vLLM release vllmctl knows (up to %s); it cannot be verified for %s", pb.Flag, flagdb.Newest(), versionWords(ver))
				hint = "if the image is a patched or newer build that has it, ignore this; else " + strings.TrimPrefix(hint, "did you mean ")
				if s := vllm.SuggestFlag(pb.Flag); s != "" {
					hint = "did you mean --" + s + "? If the image is a patched or newer build that has this flag, ignore this"
				}
			} else {
				msg = strings.Replace(msg, "vLLM exits", "vLLM "+ver.Version.String()+" exits", 1)
			}
		}
		c.diag(argPos(pb.Index, "--"+pb.Flag), sev, code, cmdPath, msg, hint)
	}
	for _, arg := range a.List {
		if !arg.Known {
			continue
		}
		f, _, _ := vllm.LookupFlag(arg.Name)
		pos := argPos(arg.Index, "")
		base, _, _ := strings.Cut(arg.Name, ".")
		av, e := flagdb.At(base, ver.Version, ver.Pin)
		pinned := ver.Pin == flagdb.Pinned && !flagdb.Newest().Less(ver.Version)
		switch {
		case av == flagdb.RemovedAt && pinned:
			c.diag(pos, project.Error, "flag-removed", cmdPath,
				fmt.Sprintf("--%s is gone from vLLM's parser by %s (last seen in %s); this engine runs %s: vLLM exits with `unrecognized arguments`", base, e.Removed, e.LastSeen, versionWords(ver)),
				orNote(e.Note, f.Note, "remove it"))
		case av == flagdb.RemovedAt:
			c.diag(pos, project.Warning, "flag-removed", cmdPath,
				fmt.Sprintf("--%s is gone from vLLM's parser by %s (last seen in %s); this engine's release is %s", base, e.Removed, e.LastSeen, versionWords(ver)),
				orNote(e.Note, f.Note, "remove it, or pin the image to a release that has it"))
		case av == flagdb.NotYetAdded && pinned:
			c.diag(pos, project.Error, "flag-too-new", cmdPath,
				fmt.Sprintf("--%s first appears in vLLM %s; this engine runs %s: vLLM exits with `unrecognized arguments`", base, e.FirstSeen, versionWords(ver)),
				fmt.Sprintf("use an image of vLLM %s or newer, or remove the flag", e.FirstSeen))
		case av == flagdb.DeprecatedAt:
			c.diag(pos, project.Warning, "flag-deprecated", cmdPath,
				fmt.Sprintf("--%s is deprecated since vLLM %s", base, e.Deprecated), orNote(e.Note, f.Note, "see `vllm serve --help` of the image"))
		case av == flagdb.Available && ver.Pin == flagdb.Pinned && !deprecatedFrom[base].IsZero() && !ver.Version.Less(deprecatedFrom[base]):
			c.diag(pos, project.Warning, "flag-deprecated", cmdPath,
				fmt.Sprintf("--%s is deprecated since vLLM %s and gone from %s: it works on %s with a warning", base, deprecatedFrom[base], e.Removed, versionWords(ver)),
				orNote(e.Note, f.Note, "remove it before upgrading"))
		case av == flagdb.Unrecorded && f.Status == vllm.Removed:
			c.diag(pos, project.Warning, "flag-removed", cmdPath, fmt.Sprintf("--%s was removed from vLLM", arg.Name), f.Note)
		}
		if f.Status == vllm.NoOp && !arg.Negated && (ver.Pin != flagdb.Pinned || !ver.Version.Less(v1Default)) {
			c.diag(pos, project.Warning, "flag-noop", cmdPath, fmt.Sprintf("--%s is a no-op on the V1 engine", arg.Name), f.Note)
		}
		if av != flagdb.Unrecorded && !arg.Unknown {
			c.jsonFlag(pr, svc, arg, e, pos, cmdPath)
		}
	}
	c.unsetConsequences(svc)
	if arg, ok := a.Lookup("api-key"); ok && !arg.Unknown && len(arg.Values) == 1 && strings.TrimSpace(arg.Values[0]) == "" && !hasProblem(a, "api-key") {
		c.diag(argPos(arg.Index, ""), project.Error, "api-key-empty", cmdPath,
			"--api-key is given an empty value: vLLM then serves without authentication (an empty key disables the check)",
			"set the key's variable in .env (and in the service's environment: for a script), or remove --api-key on purpose")
	}
	flagPos := func(name string) project.Pos {
		if arg, ok := a.Lookup(name); ok {
			return argPos(arg.Index, "")
		}
		return pr.ServicePos(svc.Name)
	}
	// Values from closed sets: the pinned release's list when the tables have
	// one (an error), else the newest list or vllmctl's own (a warning).
	closed := func(flag, val string, allowed []string, sev project.Severity, what string) {
		if val == "" || !a.IsSet(flag) || !a.Known(flag) {
			return
		}
		// The tables' lists are partial for some releases: a value is accepted
		// when any list of any release has it, and is an error only where
		// vllmctl's own lists are complete (0.10-0.11) for a pinned release.
		if list, ok := flagdb.Choices(flag, ver.Version, ver.Pin); ok {
			allowed = append(slices.Clone(allowed), list...)
		}
		if slices.Contains(allowed, val) || slices.Contains(allowedAnyRelease(flag), val) && ver.Pin != flagdb.Pinned {
			return
		}
		pinned := handTableCovers(ver)
		if !pinned {
			sev = project.Warning
		}
		slices.Sort(allowed)
		allowed = slices.Compact(allowed)
		hint := "allowed: " + strings.Join(allowed, ", ")
		if s := vllm.Suggest(val, allowed); s != "" {
			hint = "did you mean " + s + "? " + hint
		}
		where := "in vLLM " + versionWords(ver)
		if !pinned {
			where = "in the lists vllmctl knows (cannot verify for vLLM " + versionWords(ver) + ")"
		}
		c.diag(flagPos(flag), sev, "flag-value", cmdPath, fmt.Sprintf("--%s %q is not %s %s", flag, val, what, where), hint)
	}
	if a.ToolCallParser == "qwen3" {
		c.diag(flagPos("tool-call-parser"), project.Error, "flag-value", cmdPath,
			`--tool-call-parser "qwen3" is not a stock vLLM tool parser (qwen3 is a reasoning parser)`,
			"use hermes for Qwen3 (100% of tool calls parsed in the operators' tests); qwen3_xml started but parsed none")
	} else if !a.IsSet("tool-parser-plugin") {
		closed("tool-call-parser", a.ToolCallParser, vllm.ToolCallParsers, project.Warning, "a stock vLLM tool parser")
	}
	if a.ToolCallParser == "qwen3_xml" && strings.Contains(strings.ToLower(a.Model), "qwen3") && !strings.Contains(strings.ToLower(a.Model), "coder") {
		c.diag(flagPos("tool-call-parser"), project.Warning, "tool-parser-fit", cmdPath,
			`--tool-call-parser "qwen3_xml" starts but parsed 0% of tool calls with Qwen3 chat models in a real deployment`,
			"use hermes (100% parsed in the same tests), and test one tool call after deploying")
	}
	if !a.IsSet("reasoning-parser-plugin") {
		closed("reasoning-parser", a.ReasoningParser, vllm.ReasoningParsers, project.Warning, "a stock vLLM reasoning parser")
	}
	closed("quantization", a.Quantization, vllm.QuantizationMethods, project.Error, "a vLLM quantization method")
	closed("kv-cache-dtype", a.KVCacheDType, vllm.KVCacheDTypes, project.Error, "a KV cache dtype")
	closed("dtype", a.DType, vllm.DTypes, project.Error, "a dtype")
	if a.EnableAutoToolChoice && a.ToolCallParser == "" {
		c.diag(flagPos("enable-auto-tool-choice"), project.Error, "tool-choice", cmdPath,
			"--enable-auto-tool-choice without --tool-call-parser: vLLM exits with `--enable-auto-tool-choice requires --tool-call-parser`",
			"add --tool-call-parser hermes (or the parser of your model)")
	}
	if a.ToolCallParser != "" && !a.EnableAutoToolChoice {
		c.diag(flagPos("tool-call-parser"), project.Warning, "tool-choice", cmdPath,
			"--tool-call-parser without --enable-auto-tool-choice: requests with tool_choice \"auto\" get HTTP 400",
			"add --enable-auto-tool-choice")
	}
	if a.HasValue("gpu-memory-utilization") && a.Known("gpu-memory-utilization") {
		u := a.GPUMemoryUtilization
		switch {
		case u <= 0 || u > 1:
			c.diag(flagPos("gpu-memory-utilization"), project.Error, "gpu-util", cmdPath,
				fmt.Sprintf("--gpu-memory-utilization %g is outside (0, 1]: it is a fraction of the GPU's total memory", u),
				"use a value such as 0.85")
		case u > 0.95:
			c.diag(flagPos("gpu-memory-utilization"), project.Warning, "gpu-util", cmdPath,
				fmt.Sprintf("--gpu-memory-utilization %g leaves under 5%% of the GPU outside vLLM's budget", u),
				"CUDA graphs, NCCL buffers and any desktop need that memory: the operators' crash loops ended at 0.70-0.85")
		}
	}
	if a.Model == "" && a.SourceOf("model") == vllm.FromDefault {
		c.diag(pr.ServicePos(svc.Name), project.Warning, "no-model", cmdPath,
			"no --model: vLLM serves its default model (Qwen/Qwen3-0.6B)", "add --model <repo id or path>")
	}
	// GPUs against parallelism.
	g := svc.GPUs
	if _, ok := cudaVisible(svc); ok && g.Source != "CUDA_VISIBLE_DEVICES" && !g.Unknown && !g.Empty && (g.All || g.N() > 0) {
		// A CUDA_VISIBLE_DEVICES beside the device request: the engine sees only those.
		if ids := usedGPUs(svc); len(ids) > 0 {
			g = project.GPUs{IDs: ids, Source: g.Source, Path: g.Path}
		}
	}
	need := a.GPUsNeeded()
	parallelKnown := a.ParallelKnown()
	gpuPos := func() project.Pos {
		if pos, ok := pr.PosOf(g.Path); ok {
			return pos
		}
		return pr.ServicePos(svc.Name)
	}
	if v, ok := svc.Config.Environment["CUDA_VISIBLE_DEVICES"]; ok && v != nil && strings.EqualFold(strings.TrimSpace(*v), "all") {
		// CUDA reads a list of indices or UUIDs and stops at the first
		// entry it cannot read: "all" leaves no device visible.
		pos, path, ok := pr.ListItemPos(svc.Name, "environment", "CUDA_VISIBLE_DEVICES", func(v string) bool {
			return strings.HasPrefix(v, "CUDA_VISIBLE_DEVICES=")
		})
		if !ok {
			pos, path = pr.ServicePos(svc.Name), "services."+svc.Name+".environment"
		}
		c.diag(pos, project.Error, "cuda-visible-all", path,
			"CUDA_VISIBLE_DEVICES=all is not a CUDA device list: CUDA stops at the first entry it cannot read, so no GPU is visible and vLLM exits (`No CUDA GPUs are available`)",
			"remove it (NVIDIA_VISIBLE_DEVICES=all or gpus: all select the GPUs), or list indices: CUDA_VISIBLE_DEVICES=0,1")
	}
	switch {
	case g.Empty:
		c.diag(gpuPos(), project.Error, "gpu-empty", g.Path,
			fmt.Sprintf("the GPU selection (%s) interpolates to nothing: the container gets no GPU or all of them", g.Source),
			"set the variable in the root .env, or write the ids (e.g. device_ids: ['0'])")
	case g.Source == "" && strings.Contains(strings.ToLower(svc.Config.Image), "cpu"):
		// a CPU build of vLLM needs no GPU
	case g.Source == "":
		c.diag(pr.ServicePos(svc.Name), project.Warning, "gpu-none", sp,
			"no GPU is assigned to this engine",
			"add gpus: all (or deploy.resources.reservations.devices with device_ids), or runtime: nvidia with NVIDIA_VISIBLE_DEVICES")
	case !parallelKnown || svc.GPUs.Source == "cdi" && g.N() == 0:
	case g.N() > 0 && g.N() < need:
		c.diag(flagPos("tensor-parallel-size"), project.Error, "tp-gpus", cmdPath,
			fmt.Sprintf("tensor × pipeline × data parallel size is %d but %d GPU(s) are assigned (%s): vLLM fails to start its workers", need, g.N(), g),
			fmt.Sprintf("set --tensor-parallel-size %d, or assign %d GPU(s)", g.N(), need))
	case g.N() > need:
		c.diag(flagPos("tensor-parallel-size"), project.Warning, "tp-gpus", cmdPath,
			fmt.Sprintf("%d GPU(s) are assigned (%s) but tensor × pipeline × data parallel size is %d: vLLM uses the first %d, the rest stay idle", g.N(), g, need, need),
			fmt.Sprintf("set --tensor-parallel-size %d, or assign %d GPU(s)", g.N(), need))
	}
	// Ports.
	if len(svc.Ports) == 0 && svc.Config.NetworkMode != "host" && len(svc.Gated) == 0 {
		sev := project.Warning
		if len(pr.Services) > 1 {
			sev = project.Info // behind a router or proxy of the same profile, by design
		}
		c.diag(pr.ServicePos(svc.Name), sev, "no-port", sp+".ports",
			"no published port: the engine is reachable only from its compose network", `add ports: ["5000:8000"]`)
	}
	// A mapping to another container port is an error only when no mapping
	// reaches vLLM's: an extra one (a port kept for an alternative command,
	// a sidecar in the same network namespace) breaks nothing.
	reached := slices.ContainsFunc(svc.Ports, func(p project.Port) bool { return p.Target == a.Port })
	for _, p := range svc.Ports {
		if p.Target == a.Port || !a.Known("port") {
			continue
		}
		pos, _ := pr.PosOf(fmt.Sprintf("%s.ports.%d", sp, p.Index))
		if reached {
			c.diag(pos, project.Warning, "port-target", fmt.Sprintf("%s.ports.%d", sp, p.Index),
				fmt.Sprintf("the port maps container port %d but vLLM listens on %d (--port), which another mapping publishes: nothing of this engine answers on %d", p.Target, a.Port, p.Published),
				fmt.Sprintf("remove the mapping %d:%d unless something else in the container listens on %d", p.Published, p.Target, p.Target))
			continue
		}
		c.diag(pos, project.Error, "port-target", fmt.Sprintf("%s.ports.%d", sp, p.Index),
			fmt.Sprintf("the port maps container port %d but vLLM listens on %d (--port)", p.Target, a.Port),
			fmt.Sprintf("map %d:%d, or set --port %d", p.Published, a.Port, p.Target))
	}
	// Image.
	c.image(pr, svc)
	// Cache, shared memory.
	cfg := svc.Config
	hasCache := false
	for _, v := range cfg.Volumes {
		if strings.Contains(v.Target, "huggingface") || strings.Contains(v.Target, "/models") {
			hasCache = true
		}
	}
	// A mount of a folder above the cache holds it too (./cache:/root/.cache).
	if _, _, ok := svc.MountHolding("/root/.cache/huggingface", func(v types.ServiceVolumeConfig) bool {
		return v.Type != types.VolumeTypeTmpfs && strings.TrimRight(v.Target, "/") != ""
	}); ok {
		hasCache = true
	}
	for _, k := range []string{"HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE"} {
		if _, ok := cfg.Environment[k]; ok {
			hasCache = true
		}
	}
	if model, _ := a.Effective("model"); !hasCache && !strings.HasPrefix(model, "/") && a.Known("model") {
		c.diag(pr.ServicePos(svc.Name), project.Warning, "no-hf-cache", sp+".volumes",
			"no Hugging Face cache volume: every recreate downloads the model again",
			"mount one: volumes: [\"hf-cache:/root/.cache/huggingface\"]")
	}
	if cfg.Ipc != "host" && cfg.ShmSize == 0 {
		sev := project.Warning
		c.diag(pr.ServicePos(svc.Name), sev, "no-shm", sp,
			"no ipc: host and no shm_size: Docker's 64 MB /dev/shm is too small for PyTorch workers",
			"add ipc: host (or shm_size: 16gb)")
	}
	c.healthcheck(pr, svc)
}

// binds reports bind mounts whose source does not exist: Docker creates an
// empty folder there (a model, a cache or a script that is silently missing;
// under Docker Desktop, /mnt/<drive> paths that mounted empty).
func (c *checker) binds(pr *project.Profile, svc *project.Service) {
	model, _ := svc.Args.Effective("model")
	for i, v := range svc.Config.Volumes {
		if v.Type != "bind" || v.Source == "" || vllm.HasUnknown(v.Source) {
			continue
		}
		path := fmt.Sprintf("services.%s.volumes.%d", svc.Name, i)
		pos, ok := pr.PosOf(path)
		if !ok {
			pos = pr.ServicePos(svc.Name)
		}
		diag := func(sev project.Severity, code, msg, hint string) { c.diag(pos, sev, code, path, msg, hint) }
		src := c.p.Rel(v.Source)
		switch {
		case windowsPath(v.Source):
			switch {
			case c.host.Known && c.host.OS == "linux" && !c.host.Desktop:
				diag(project.Error, "bind-host", fmt.Sprintf("bind source %s is a Windows path but the Docker host (%s) is Linux: the mount fails or is empty", v.Source, c.host.Name),
					"use the Linux path of that folder on the Docker host")
			case goruntime.GOOS == "windows":
				if _, err := os.Stat(v.Source); err != nil {
					diag(project.Warning, "bind-missing", fmt.Sprintf("bind source %s does not exist: Docker Desktop mounts an empty folder at %s", v.Source, v.Target), "fix the path")
				}
			default:
				diag(project.Info, "bind-skipped", fmt.Sprintf("bind source %s is a Windows path: it can only be checked on the Windows machine that runs Docker Desktop", v.Source), "run vllmctl check there")
			}
			continue
		case strings.HasPrefix(v.Source, "/mnt/") && len(v.Source) > 6 && (len(v.Source) == 6 || v.Source[6] == '/') && c.host.Desktop:
			diag(project.Warning, "bind-wsl-drive", fmt.Sprintf("bind source %s is a Windows drive seen from WSL: under Docker Desktop such mounts have come up empty (and break after wsl --shutdown)", v.Source),
				fmt.Sprintf("write the Windows path (%s:\\%s) or keep the files inside the WSL distro", strings.ToUpper(v.Source[5:6]), strings.ReplaceAll(strings.TrimPrefix(v.Source[6:], "/"), "/", "\\")))
			continue
		}
		if !c.host.Known {
			if !c.hostSkipped {
				c.hostSkipped = true
				diag(project.Info, "bind-skipped", "bind sources were not judged: no Docker daemon answered, and they are judged on the Docker host's OS", "start Docker (or set DOCKER_HOST) and run check again")
			}
			continue
		}
		if _, err := os.Stat(v.Source); err == nil {
			continue
		}
		switch {
		case v.Bind != nil && !bool(v.Bind.CreateHostPath):
			diag(project.Error, "bind-missing", fmt.Sprintf("bind source %s does not exist and create_host_path is false: Docker refuses to start the container", src),
				"create it, or fix the path (relative paths are resolved from the first compose file's folder)")
		case looksLikeFile(v.Target):
			diag(project.Warning, "bind-missing", fmt.Sprintf("bind source %s does not exist: Docker creates an empty folder there, and the container finds a folder where it expects the file %s", src, v.Target),
				"fix the path (relative paths are resolved from the first compose file's folder)")
		case strings.HasPrefix(model, strings.TrimSuffix(v.Target, "/")+"/") || model == v.Target:
			diag(project.Warning, "bind-missing", fmt.Sprintf("bind source %s does not exist: Docker mounts an empty folder at %s, where the engine loads its model (%s)", src, v.Target, model),
				"fix the path to the model folder (relative paths are resolved from the first compose file's folder)")
		default:
			diag(project.Info, "bind-created", fmt.Sprintf("bind source %s does not exist yet: Docker creates it empty (right for a cache, wrong for data)", src), "create it if it must hold data")
		}
	}
}

// windowsPath reports a Windows path: a drive (C:\, d:/) or a UNC share (\\wsl.localhost\…).
func windowsPath(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z') {
		return true
	}
	return strings.HasPrefix(p, `\\`) || strings.HasPrefix(p, "//")
}

// looksLikeFile reports a container path that names a file (a script, a
// template, a config) rather than a folder.
func looksLikeFile(p string) bool {
	base := p[strings.LastIndexByte(p, '/')+1:]
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 {
		return false
	}
	switch strings.ToLower(base[dot+1:]) {
	case "sh", "bash", "py", "json", "jinja", "j2", "yaml", "yml", "toml", "txt", "env", "conf", "cfg", "ini", "pem", "crt", "key", "template", "tmpl":
		return true
	}
	return false
}

func (c *checker) image(pr *project.Profile, svc *project.Service) {
	img := svc.Config.Image
	path := "services." + svc.Name + ".image"
	pos, ok := pr.PosOf(path)
	if !ok {
		pos = pr.ServicePos(svc.Name)
	}
	if img == "" {
		if svc.Config.Build == nil && svc.EngineReason != project.ByName {
			c.diag(pos, project.Error, "no-image", path, "no image and no build", "set image: vllm/vllm-openai:v"+flagdb.Newest().String())
		}
		return
	}
	// A digest pins; an image from a variable cannot be judged here (its
	// unset variable is reported); a tag this file builds names the build,
	// not a pull.
	if strings.Contains(img, "@sha256:") || vllm.HasUnknown(img) || svc.Config.Build != nil {
		return
	}
	name := img[strings.LastIndex(img, "/")+1:]
	_, tag, hasTag := strings.Cut(name, ":")
	pinHint := "pin a release tag or a digest"
	if project.OfficialImage(img) {
		repo := strings.TrimSuffix(img, ":"+tag)
		pinHint = "pin a release tag (" + repo + ":v" + flagdb.Newest().String() + ") or a digest"
	}
	switch {
	case !hasTag || tag == "latest":
		msg := fmt.Sprintf("image %q is not pinned: the next pull may change vLLM's flags and defaults", img)
		if svc.Version.From == project.VersionAssumedNewest {
			msg += " (it is not on this machine: vllmctl plans it as " + svc.Version.Version.String() + ", the newest release it knows)"
		}
		c.diag(pos, project.Warning, "image-unpinned", path, msg, pinHint)
	case strings.Contains(strings.ToLower(tag), "nightly"):
		c.diag(pos, project.Warning, "image-unpinned", path,
			fmt.Sprintf("image %q is a nightly tag: it is garbage-collected and moves", img), pinHint)
	}
}

// loadEstimate is a rough cold-cache load time for a model: a fixed start-up plus
// a per-billion-parameter load. It errs long: the operators' start periods grew
// from 20-30 s to 900-1800 s.
func loadEstimate(model string) (time.Duration, bool) {
	b, ok := vllm.ParamsBillion(model)
	if !ok {
		return 0, false
	}
	return 90*time.Second + time.Duration(b*10)*time.Second, true
}

// Docker's healthcheck defaults (docs.docker.com, Dockerfile HEALTHCHECK):
// a probe every 30 s, unhealthy after 3 consecutive failures.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthRetries  = 3
)

// healthcheck warns when Docker would mark the engine unhealthy before it can
// have loaded. Failures during start_period do not count; after it, Docker
// needs retries consecutive failures, one per interval. So the engine has
// about start_period + retries × interval before "unhealthy" (a probe's
// timeout adds to that only when it hangs; vLLM refuses connections while it
// loads, so the probe fails at once).
func (c *checker) healthcheck(pr *project.Profile, svc *project.Service) {
	hc := svc.Config.HealthCheck
	if hc == nil || hc.Disable {
		return
	}
	est, ok := loadEstimate(svc.Args.Model)
	if !ok {
		return
	}
	var sp time.Duration
	if hc.StartPeriod != nil {
		sp = time.Duration(*hc.StartPeriod)
	}
	var defaults []string // the settings Docker's defaults fill
	retries := uint64(defaultHealthRetries)
	if hc.Retries != nil && *hc.Retries > 0 {
		retries = *hc.Retries
	} else {
		defaults = append(defaults, "retries")
	}
	interval := defaultHealthInterval
	if hc.Interval != nil && *hc.Interval > 0 {
		interval = time.Duration(*hc.Interval)
	} else {
		defaults = append(defaults, "interval")
	}
	failing := time.Duration(retries) * interval
	window := sp + failing
	if window >= est {
		return
	}
	path := "services." + svc.Name + ".healthcheck.start_period"
	pos, found := pr.PosOf(path)
	if !found {
		pos, _ = pr.KeyPos("services." + svc.Name + ".healthcheck")
	}
	need := est - failing
	msg := fmt.Sprintf("healthcheck start_period %s + %d retries × %s = %s is below a likely load time of %s for %s: Docker marks it unhealthy while it loads",
		sp, retries, interval, window, est.Round(time.Second), svc.Args.Model)
	if len(defaults) > 0 {
		msg += " (" + strings.Join(defaults, " and ") + ": Docker's default)"
	}
	c.diag(pos, project.Warning, "healthcheck-start", path, msg,
		fmt.Sprintf("set start_period: %ds or more, or raise retries or interval (vllmctl up follows the real startup phases and needs no start period)", int(math.Ceil(need.Seconds()))))
}

var hfToken = regexp.MustCompile(`\bhf_[A-Za-z0-9]{30,}\b`)

// rawChecks look at the files as written: hard-coded secrets, stray leading spaces.
func (c *checker) rawChecks(pr *project.Profile) {
	for _, s := range pr.Sources {
		if s != pr.Sources[len(pr.Sources)-1] && len(pr.Sources) > 1 {
			continue // base-file raw checks are reported once, with the first profile
		}
		c.rawSource(s)
	}
	if len(pr.Sources) > 1 && pr == c.p.Profiles[0] {
		c.rawSource(pr.Sources[0])
	}
}

var envItem = regexp.MustCompile(`^services\.[^.]+\.environment\.\d+$`)
var envKey = regexp.MustCompile(`^services\.[^.]+\.environment\.([A-Za-z_][A-Za-z0-9_]*)$`)
var deviceID = regexp.MustCompile(`^services\.[^.]+\.deploy\.resources\.reservations\.devices\.\d+\.device_ids\.\d+$`)
var commandPath = regexp.MustCompile(`^services\.[^.]+\.(command|entrypoint)(\.\d+)?$`)

// commandComments reports the '#' lines inside a service's command: string,
// unless a shell runs that string (then they are comments). It returns the
// words of those lines, whose flag findings would repeat the same cause.
func (c *checker) commandComments(pr *project.Profile, svc *project.Service) map[string]bool {
	words := map[string]bool{}
	if svc.Script != nil {
		return words
	}
	if _, _, shell := shellcmd.IsShell(append(append([]string(nil), svc.Config.Entrypoint...), svc.Config.Command...)); shell {
		return words
	}
	for _, s := range pr.Sources {
		for _, cl := range s.CommandComments() {
			if cl.Path != "services."+svc.Name+".command" {
				continue
			}
			for _, w := range strings.Fields(cl.Text) {
				words[w] = true
			}
			c.diag(project.Pos{File: s.Path, Line: cl.Line, Col: 1}, project.Error, "command-comment", cl.Path,
				fmt.Sprintf("%q is not a comment inside command: (a YAML string): compose passes its words to vLLM as arguments, which exits with `unrecognized arguments`; a quote or parenthesis in it makes compose refuse the file", truncate(cl.Text, 60)),
				"move the comment above command:, or write command: as a list and comment between items")
		}
	}
	return words
}

func (c *checker) rawSource(s *project.Source) {
	// Command list items by path, for a flag whose value is the next item
	// (["--api-key", "…"]).
	items := map[string]string{}
	s.Walk(func(path string, n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && commandPath.MatchString(path) {
			items[path] = n.Value
		}
	})
	nextItem := func(path string) string {
		i := strings.LastIndexByte(path, '.')
		k, err := strconv.Atoi(path[i+1:])
		if i < 0 || err != nil {
			return ""
		}
		return items[path[:i+1]+strconv.Itoa(k+1)]
	}
	s.Walk(func(path string, n *yaml.Node) {
		if n.Kind != yaml.ScalarNode {
			return
		}
		pos := project.Pos{File: s.Path, Line: n.Line, Col: n.Column}
		var key, val string
		isEnv := false
		if envItem.MatchString(path) {
			key, val, isEnv = strings.Cut(n.Value, "=")
		} else if m := envKey.FindStringSubmatch(path); m != nil {
			key, val, isEnv = m[1], n.Value, true
		}
		if isEnv {
			if strings.TrimLeft(val, " \t") != val && strings.TrimSpace(val) != "" {
				c.diag(pos, project.Warning, "leading-space", path,
					fmt.Sprintf("the value of %s starts with a space: the container gets %q", key, " "+strings.TrimLeft(val, " \t")[:min(12, len(strings.TrimLeft(val, " \t")))]+"..."),
					fmt.Sprintf("write %s=%s with no space after '='", key, strings.TrimLeft(val, " \t")))
			}
			// A placeholder ("EMPTY", "dummy", "sk-1234") is not a secret.
			if project.IsSecretName(key) && literalOutsideRefs(val) && !placeholderSecret(strings.TrimSpace(val)) {
				c.diag(pos, project.Error, "hardcoded-secret", path,
					fmt.Sprintf("%s is written in the compose file", key),
					fmt.Sprintf("move it to the root .env and write %s=${%s}", key, key))
			}
		}
		if deviceID.MatchString(path) && strings.TrimSpace(n.Value) != n.Value {
			c.diag(pos, project.Warning, "leading-space", path,
				fmt.Sprintf("device id %q has stray spaces", n.Value), "write the id alone, e.g. '0'")
		}
		refs, _ := project.ScanRefs(n.Value)
		for _, r := range refs {
			// A placeholder default ("dummy", "EMPTY", "sk-local") is not a secret.
			if project.IsSecretName(r.Name) && r.HasDefault() && strings.TrimSpace(r.Arg) != "" && literalOutsideRefs(r.Arg) && !placeholderSecret(strings.TrimSpace(r.Arg)) {
				c.diag(pos, project.Error, "hardcoded-secret", path,
					fmt.Sprintf("${%s} has a secret written as its default", r.Name),
					fmt.Sprintf("remove the default (${%s}) and keep the value in .env only", r.Name))
			}
		}
		if commandPath.MatchString(path) {
			toks := strings.Fields(n.Value)
			for i, t := range toks {
				name, inline, eq := strings.Cut(t, "=")
				if vllm.NormalizeFlag(name) != "api-key" || !strings.HasPrefix(name, "--") {
					continue
				}
				v := inline
				if !eq && i+1 < len(toks) {
					v = toks[i+1]
				} else if !eq {
					v = nextItem(path) // a list item alone: its value is the next item
				}
				v = strings.Trim(v, `"'`)
				if v == "" || strings.HasPrefix(v, "-") || strings.HasPrefix(v, "$") || !literalOutsideRefs(v) {
					continue
				}
				if placeholderSecret(v) {
					continue // a placeholder leaks nothing
				}
				p, _ := s.FindWord(n.Line, name)
				if p.File == "" {
					p = pos
				}
				c.diag(p, project.Error, "hardcoded-secret", path, "--api-key is written in the compose file",
					"write --api-key ${VLLM_API_KEY} and keep the key in the root .env")
			}
		}
		if hfToken.MatchString(n.Value) && !strings.Contains(n.Value, "YOUR") {
			c.diag(pos, project.Error, "hardcoded-secret", path, "a Hugging Face token is written in the compose file",
				"revoke it, then keep HF_TOKEN in the root .env")
		}
	})
}

// placeholderWords mark a value written to stand for a key, not to be one
// ("sk-local", "your-api-key", "changeme123", "sk-no-key-required").
var placeholderWords = []string{"dummy", "placeholder", "changeme", "change-me", "change_me", "example", "local", "none", "fake", "your", "xxx", "no-key", "nokey", "not-needed", "replace", "unused", "optional", "testing", "insecure", "sample"}

// placeholderSecret reports whether a value written for a secret is a
// placeholder rather than a key: a value redact does not mask (a
// conventional "no key" value, see redact.Maskable), one with a placeholder
// word, or an OpenAI-style "sk-"
// with a short, all-digit or one-character tail (sk-1234, sk-test, sk-xxx).
// Such a value leaks nothing; a long random one does.
func placeholderSecret(v string) bool {
	if !redact.Maskable(v) {
		return true
	}
	lower := strings.ToLower(v)
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	if tail, ok := strings.CutPrefix(lower, "sk-"); ok {
		allDigits := strings.Trim(tail, "0123456789") == ""
		oneChar := tail != "" && strings.Count(tail, tail[:1]) == len(tail)
		return len(tail) < 8 || allDigits || oneChar
	}
	return false
}

// literalOutsideRefs reports whether s has characters outside ${...} references.
func literalOutsideRefs(s string) bool {
	s = strings.TrimSpace(s)
	refs, _ := project.ScanRefs(s)
	literal := func(part string) bool {
		return strings.Trim(part, " \t}") != "" // a stray '}' is reported on its own
	}
	last := 0
	for _, r := range refs {
		if literal(s[last:r.Offset]) {
			return true
		}
		last = r.End
	}
	return literal(s[last:])
}

// handTableCovers reports whether vllmctl's own flag table (vllm.Flags, read
// from `vllm serve --help` of 0.10 and 0.11) is complete for the engine's
// release: only then is a flag missing from every table certainly unknown.
func handTableCovers(v project.EngineVersion) bool {
	return v.Pin == flagdb.Pinned && !v.Version.Less(flagdb.Version{Minor: 10}) && v.Version.Less(flagdb.Version{Minor: 12})
}

// v1Default is the first release whose default engine is V1 (no-op flags are judged from there).
var v1Default = flagdb.Version{Major: 0, Minor: 9}

// deprecatedFrom are deprecations the tables miss, from ../shared/vllm/FACTS.md §6:
// the flag still works there (with a warning) and is gone from the removal release.
var deprecatedFrom = map[string]flagdb.Version{
	"enable-reasoning": {Major: 0, Minor: 9}, // "The parameter --enable-reasoning is deprecated." (0.9.x); gone in 0.10.0
}

// versionWords renders an engine's release for a message.
func versionWords(v project.EngineVersion) string {
	if v.Pin == flagdb.Pinned {
		return v.Version.String() + " (from the " + v.Source() + ")"
	}
	if v.From == project.VersionAssumedNewest {
		return "not pinned: " + vllm.ShowUnknown(v.Ref) + " pulls the newest build, " + v.Version.String() + " or later"
	}
	if v.Ref != "" {
		return "unknown (" + vllm.ShowUnknown(v.Ref) + " names no release; set x-vllmctl.vllm_version)"
	}
	return "unknown (set x-vllmctl.vllm_version)"
}

func orNote(notes ...string) string {
	for _, n := range notes {
		if n != "" {
			return n
		}
	}
	return ""
}

// allowedAnyRelease is every value a closed flag took in any release vllmctl knows.
func allowedAnyRelease(flag string) []string {
	var out []string
	for _, r := range flagdb.Releases() {
		if l, ok := flagdb.Choices(flag, r.Version, flagdb.Pinned); ok {
			out = append(out, l...)
		}
	}
	return out
}

// jsonFlag checks a JSON-valued flag: its value must be valid JSON always; its
// keys only where the tables list them (a warning otherwise).
func (c *checker) jsonFlag(pr *project.Profile, svc *project.Service, arg vllm.Arg, e flagdb.Entry, pos project.Pos, cmdPath string) {
	if e.Kind != flagdb.JSON || strings.Contains(arg.Name, ".") || len(arg.Values) == 0 {
		return
	}
	v := strings.TrimSpace(arg.Values[0])
	if !strings.HasPrefix(v, "{") {
		return // -O3, a level or mode number
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		c.diag(pos, project.Error, "flag-json", cmdPath,
			fmt.Sprintf("--%s value is not valid JSON: %v", arg.Name, err),
			`vLLM exits with "invalid loads value"; quote the object as one argument: --`+arg.Name+` '{"key": "value"}'`)
		return
	}
	if len(e.Subkeys) == 0 {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(e.Subkeys, k) {
			c.diag(pos, project.Warning, "flag-json-key", cmdPath,
				fmt.Sprintf("--%s key %q is not among the keys vllmctl knows (%s)", arg.Name, k, strings.Join(e.Subkeys, ", ")),
				"check the key against `vllm serve --help="+arg.Name+"` of the image")
		}
	}
}

// unsetConsequences adds to each unset-variable finding what vLLM does with the
// flag the variable was to fill: one finding per cause, with its effect.
func (c *checker) unsetConsequences(svc *project.Service) {
	for _, arg := range svc.Args.List {
		if !arg.Unknown || !arg.Known || len(arg.Values) != 1 {
			continue
		}
		v := vllm.ShowUnknown(arg.Values[0])
		if !strings.HasPrefix(v, "$") || strings.ContainsAny(v[1:], " $") && !strings.HasPrefix(v, "${") {
			continue
		}
		name := strings.Trim(v, "${}")
		effect := fmt.Sprintf("; --%s then gets no value: vLLM exits with `argument --%s: expected at least one argument`", arg.Name, arg.Name)
		if strings.Contains(arg.Written, "=") {
			effect = fmt.Sprintf("; --%s= then has an empty value", arg.Name)
		} else if next := arg.Index + 2; next < len(svc.Argv) && !strings.HasPrefix(svc.Argv[next], "-") && !vllm.HasUnknown(svc.Argv[next]) {
			// The empty word vanishes and the flag takes the word after it
			// (which, with the variable set, is a stray argument of its own).
			effect = fmt.Sprintf("; --%s then takes the next word (%q) as its value", arg.Name, svc.Argv[next])
		}
		c.addEffect(name, effect)
	}
}

// addEffect appends what an empty ${name} does to the unset-variable findings of name.
func (c *checker) addEffect(name, effect string) {
	for i := range c.out {
		d := &c.out[i]
		if d.Code == "unset-variable" && strings.Contains(d.Message, "${"+name+"}") && !strings.Contains(d.Message, "then ") {
			d.Message = strings.Replace(d.Message, "interpolates to an empty string", "interpolates to an empty string"+effect, 1)
		}
	}
}

// emptiedByUnset reports whether a flag that gets no value (at pos) is
// explained by an unset variable written as its value: right after the flag
// on its line (a command: string), or the next list item. That variable's
// finding then carries the effect, with its own severity (a warning when the
// variable is merely not set here: the environment compose runs in may set
// it), and the flag's own error is not reported. A value certainly empty (set
// empty in .env, ${X:-} with X unset) has no such finding and stays an error.
func (c *checker) emptiedByUnset(pr *project.Profile, svc *project.Service, pb vllm.Problem, pos project.Pos, cmdPath string) bool {
	itemPath := ""
	if ci := svc.CommandIndex(pb.Index); ci >= 0 {
		itemPath = fmt.Sprintf("%s.%d", cmdPath, ci+1)
	}
	line := ""
	for _, s := range pr.Sources {
		if s.Path == pos.File {
			if lines := strings.Split(string(s.Data), "\n"); pos.Line >= 1 && pos.Line <= len(lines) {
				line = lines[pos.Line-1]
			}
		}
	}
	written := "--" + pb.Flag
	if pb.Index >= 0 && pb.Index < len(svc.Argv) {
		written = svc.Argv[pb.Index]
	}
	flagEnd := pos.Col - 1 + len(written)
	for i := range c.out {
		d := &c.out[i]
		if d.Code != "unset-variable" || d.Pos.File != pos.File {
			continue
		}
		next := itemPath != "" && d.Path == itemPath // command: as a list
		if d.Path == cmdPath && d.Pos.Line == pos.Line && flagEnd <= d.Pos.Col-1 && d.Pos.Col-1 <= len(line) {
			next = strings.TrimSpace(line[flagEnd:d.Pos.Col-1]) == "" // command: as a string
		}
		if !next {
			continue
		}
		if !strings.Contains(d.Message, "then ") {
			d.Message = strings.Replace(d.Message, "interpolates to an empty string",
				fmt.Sprintf("interpolates to an empty string; --%s then gets no value: vLLM exits with `argument --%s: expected at least one argument`", pb.Flag, pb.Flag), 1)
		}
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func hasProblem(a *vllm.Args, flag string) bool {
	for _, p := range a.Problems {
		if p.Flag == flag {
			return true
		}
	}
	return false
}

// splitScript reports a shell entrypoint ending in -c whose script is given as
// a command: string: compose splits a string command into words, so the shell
// runs only the first word as its script and the rest become $0, $1….
func (c *checker) splitScript(pr *project.Profile, svc *project.Service) {
	ep := svc.Config.Entrypoint
	if len(ep) < 2 || len(svc.Config.Command) < 2 || !strings.HasPrefix(ep[len(ep)-1], "-") || !strings.HasSuffix(ep[len(ep)-1], "c") {
		return
	}
	if _, _, shell := shellcmd.IsShell(append(slices.Clone([]string(ep)), "true")); !shell {
		return
	}
	path := "services." + svc.Name + ".command"
	for i := len(pr.Sources) - 1; i >= 0; i-- {
		n, ok := pr.Sources[i].Node(path)
		if !ok {
			continue
		}
		if n.Kind == yaml.ScalarNode {
			pos, _ := pr.PosOf(path)
			c.diag(pos, project.Error, "shell-script-split", path,
				fmt.Sprintf("the entrypoint %q runs only the first word of this command (%q) as its script: compose splits a command: string into words, and the rest become the script's $0, $1…", strings.Join(ep, " "), svc.Config.Command[0]),
				"write the script as one list item: command: [\"...\"], or command: then \"- |\" and the script below it")
		}
		return
	}
}

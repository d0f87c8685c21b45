package resolve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
	"go.yaml.in/yaml/v4"
)

// Labels put on every container vllmctl starts: project, profile, service,
// the config hash, vllmctl's version and the deploy id. The runtime finds its
// engines by them.
const (
	LabelProject = "dev.vllmctl.project"
	LabelProfile = "dev.vllmctl.profile"
	LabelService = "dev.vllmctl.service"
	LabelHash    = "dev.vllmctl.config-hash"
	LabelVersion = "dev.vllmctl.version"
	LabelDeploy  = "dev.vllmctl.deploy-id"
)

// SimImage is the simulator image `make sim-image` builds.
const SimImage = "vllm-sim:dev"

// Resolved is a profile's compose file as it will be deployed.
type Resolved struct {
	YAML      []byte
	Hash      string // of the user's config (before any --simulate change), secrets as references
	Engines   []*project.Service
	Simulated bool
}

// ResolveOptions change what is deployed.
type ResolveOptions struct {
	Version  string    // vllmctl version label
	DeployID string    // deploy-id label
	Simulate bool      // run on vllm-sim: image, GPU reservations removed, simulated GPU flags
	SimGPUs  []gpu.GPU // the inventory the simulator pretends to have
}

// Resolve renders the profile's merged, interpolated compose model as a
// stand-alone compose file: '$' escaped, secret values put back as ${KEY}
// references to the root .env (deploys pass --env-file), and vllmctl labels.
func Resolve(p *project.Project, pr *project.Profile, o ResolveOptions) (Resolved, error) {
	if pr.Compose == nil {
		return Resolved{}, fmt.Errorf("profile %q does not load: run 'vllmctl check %s'", pr.Name, pr.Name)
	}
	b, err := pr.Compose.MarshalJSON()
	if err != nil {
		return Resolved{}, fmt.Errorf("render profile %q: %w", pr.Name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return Resolved{}, err
	}
	delete(m, "name") // Compose v1 does not know the top-level name; -p sets it
	secrets := SecretRefs(p)
	m = Escape(m, secrets).(map[string]any)
	services, _ := m["services"].(map[string]any)
	h := sha256.New()
	canon, _ := json.Marshal(services) // encoding/json sorts keys: canonical
	h.Write(canon)
	r := Resolved{Hash: hex.EncodeToString(h.Sum(nil))[:16], Engines: pr.Engines(), Simulated: o.Simulate}
	if nets, ok := m["networks"].(map[string]any); ok {
		if def, ok := nets["default"].(map[string]any); ok {
			delete(def, "name") // each profile's compose project gets its own default network
		}
	}
	for name, raw := range services {
		svc, _ := raw.(map[string]any)
		for k, v := range svc {
			if v == nil {
				delete(svc, k) // "entrypoint: null" and the like: not every Compose accepts them
			}
		}
		// The services here are the ones the active compose profiles
		// (COMPOSE_PROFILES) start: without their profiles: key the file
		// starts them with a plain 'up -d'.
		delete(svc, "profiles")
		labels, _ := svc["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		labels[LabelProject] = p.Config.ProjectName
		labels[LabelProfile] = pr.Name
		labels[LabelService] = name
		labels[LabelHash] = r.Hash
		labels[LabelVersion] = o.Version
		if o.DeployID != "" {
			labels[LabelDeploy] = o.DeployID
		}
		svc["labels"] = labels
		if o.Simulate {
			if s := pr.Service(name); s != nil && s.Engine {
				simulate(svc, s, o.SimGPUs)
			}
		}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return Resolved{}, err
	}
	header := fmt.Sprintf("# Resolved by vllmctl from %s for profile %q (config hash %s).\n# Deploy by hand: docker compose -p %s --env-file .env -f <this file> up -d\n",
		strings.Join(sourcePaths(pr), " + "), pr.Name, r.Hash, ComposeName(p, pr.Name))
	r.YAML = append([]byte(header), out...)
	return r, nil
}

func sourcePaths(pr *project.Profile) []string {
	var out []string
	for _, s := range pr.Sources {
		out = append(out, s.Path)
	}
	return out
}

// ComposeName is the compose project of a profile: <project>-<profile>, so
// profiles never see each other's containers as orphans.
func ComposeName(p *project.Project, profile string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(p.Config.ProjectName + "-" + profile) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	return b.String()
}

// SecretRefs maps secret values to the .env key that holds them.
func SecretRefs(p *project.Project) map[string]string {
	out := map[string]string{}
	if p.Env == nil {
		return out
	}
	for _, k := range p.Env.Keys() {
		if v := p.Env.Values[k]; project.IsSecretName(k) && len(v) >= 4 {
			if _, inEnv := p.Environ()[k]; !inEnv {
				out[v] = k
			}
		}
	}
	return out
}

// Escape doubles every '$' of the strings in v (compose interpolates them)
// and puts each secret value back as its ${KEY} reference.
func Escape(v any, secrets map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = Escape(e, secrets)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = Escape(e, secrets)
		}
		return x
	case string:
		s := strings.ReplaceAll(x, "$", "$$")
		keys := make([]string, 0, len(secrets))
		for val := range secrets {
			keys = append(keys, val)
		}
		sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
		for _, val := range keys {
			s = strings.ReplaceAll(s, val, "${"+secrets[val]+"}")
		}
		return s
	}
	return v
}

// simulate turns an engine service into a vllm-sim one: same arguments, ports
// and healthcheck intent; no GPU reservation; a simulated GPU.
func simulate(svc map[string]any, s *project.Service, gpus []gpu.GPU) {
	svc["image"] = SimImage
	delete(svc, "runtime")
	delete(svc, "build")
	delete(svc, "pull_policy")
	if dep, ok := svc["deploy"].(map[string]any); ok {
		if res, ok := dep["resources"].(map[string]any); ok {
			if rv, ok := res["reservations"].(map[string]any); ok {
				delete(rv, "devices")
			}
		}
	}
	if ep, ok := svc["entrypoint"].([]any); ok && len(ep) > 0 {
		svc["entrypoint"] = append([]any{"/usr/bin/vllm-sim"}, ep...)
	}
	cmd, _ := svc["command"].([]any)
	for _, a := range SimFlags(s, gpus) {
		cmd = append(cmd, a)
	}
	svc["command"] = cmd
	if hc, ok := svc["healthcheck"].(map[string]any); ok {
		// The scratch image has no shell, curl or python: probe with the simulator itself.
		hc["test"] = []any{"CMD", "/usr/bin/vllm-sim", "probe", fmt.Sprintf("http://127.0.0.1:%d/health", s.Args.Port)}
	}
}

// SimFlags are the simulator flags for an engine on an inventory: the card and
// count of the GPUs it would use.
func SimFlags(s *project.Service, gpus []gpu.GPU) []string {
	n := s.Args.GPUsNeeded()
	if len(gpus) == 0 {
		return []string{"--sim-gpus", fmt.Sprint(n)}
	}
	g := gpus[0]
	for _, id := range s.GPUs.IDs {
		for _, x := range gpus {
			if fmt.Sprint(x.Index) == id || x.UUID == id {
				g = x
			}
		}
	}
	return []string{"--sim-gpu-memory", fmt.Sprintf("%.2fGiB", g.TotalGiB()), "--sim-gpus", fmt.Sprint(n)}
}

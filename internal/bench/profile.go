package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Engine is the profile's first vLLM engine, or an error that says so.
func Engine(p *project.Project, profile string) (*project.Service, error) {
	pr, err := p.Profile(profile)
	if err != nil {
		return nil, err
	}
	engines := pr.Engines()
	if len(engines) == 0 {
		return nil, fmt.Errorf("profile %q has no vLLM engine to measure", profile)
	}
	return engines[0], nil
}

// PortTarget is a profile's engine on its published host port (port > 0
// overrides it), with its served name and its --api-key.
func PortTarget(eng *project.Service, port int) (Target, string, error) {
	if port == 0 {
		port = eng.HostPort()
	}
	if port == 0 {
		port = eng.Args.Port
	}
	if port == 0 {
		return Target{}, "", fmt.Errorf("service %s publishes no port: pass --port, or --via gateway", eng.Name)
	}
	names := eng.Args.ServedNames()
	if len(names) == 0 {
		return Target{}, "", fmt.Errorf("service %s serves no model name", eng.Name)
	}
	return Target{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port), APIKey: eng.Args.APIKey, Model: names[0]}, fmt.Sprintf("port %d", port), nil
}

// GatewayTarget is the profile's model through vllmctl serve at url, with
// the first client key of the root .env (VLLMCTL_GATEWAY_KEY_<NAME>, in
// name order) that may use the model; none when the gateway is open or only
// key hashes are kept.
func GatewayTarget(p *project.Project, profile string, eng *project.Service, url string) (Target, string) {
	names := eng.Args.ServedNames()
	model := profile
	if len(names) > 0 {
		model = names[0]
	}
	t := Target{BaseURL: strings.TrimRight(url, "/"), Model: model}
	if p.Env != nil {
		for _, k := range p.Env.Keys() {
			v := p.Env.Values[k]
			if !strings.HasPrefix(k, "VLLMCTL_GATEWAY_KEY_") || v == "" || strings.HasPrefix(v, "sha256:") {
				continue
			}
			key, models, limited := strings.Cut(v, "|")
			if limited {
				allowed := strings.Split(models, ",")
				if !slices.Contains(allowed, model) && !slices.Contains(allowed, profile) {
					continue
				}
			}
			t.APIKey = key
			break
		}
	}
	return t, "gateway " + t.BaseURL
}

// Facts fills what a result measured: the profile's last deploy (id and
// config hash), the vLLM version the engine reports on /version (else the
// release its image names, else Unknown), and the GPUs (else Unknown).
func Facts(ctx context.Context, r *Result, st state.Store, eng *project.Service, engineURL string, gpus []gpu.GPU, gpuSource string) {
	r.DeployID, r.ConfigHash, r.VLLMVersion = Unknown, Unknown, Unknown
	if rec, ok, err := st.Latest(r.Profile); err == nil && ok {
		r.DeployID, r.ConfigHash = rec.ID, rec.Hash
	}
	if v := engineVersion(ctx, engineURL); v != "" {
		r.VLLMVersion = v
	} else if eng != nil && eng.Version.String() != "" && !strings.HasPrefix(eng.Version.String(), "unknown") {
		r.VLLMVersion = eng.Version.String()
	}
	r.GPUs = nil
	for _, g := range gpus {
		s := fmt.Sprintf("%d: %s (%d MiB)", g.Index, g.Name, g.TotalMiB)
		if g.Declared {
			s += " declared in " + gpuSource
		}
		r.GPUs = append(r.GPUs, s)
	}
	if len(r.GPUs) == 0 {
		r.GPUs = []string{Unknown}
	}
}

func engineVersion(ctx context.Context, url string) string {
	if url == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/version", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v struct {
		Version string `json:"version"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != 200 || json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v.Version
}

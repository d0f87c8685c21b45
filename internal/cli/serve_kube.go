package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/kube"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/serve"
	"github.com/vllmctl/vllmctl/internal/state"
)

// kubeTargetFile is written by up --target kubernetes beside the history of
// a context and namespace: how serve connects to that cluster again.
const kubeTargetFile = "target.json"

// kubeTargetRecord is what kubeTargetFile holds.
type kubeTargetRecord struct {
	Kubeconfig string `json:"kubeconfig,omitempty"` // absolute; "" for kubectl's default
	Context    string `json:"context,omitempty"`    // "" for the current one
	Namespace  string `json:"namespace"`
}

// writeKubeTarget records where the deploys of store went.
func writeKubeTarget(store state.Store, f targetFlags, ns string) error {
	kc := f.kubeconfig
	if kc != "" {
		if abs, err := filepath.Abs(kc); err == nil {
			kc = abs
		}
	}
	b, err := json.MarshalIndent(kubeTargetRecord{Kubeconfig: kc, Context: f.context, Namespace: ns}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(store.Dir, kubeTargetFile), append(b, '\n'), 0o644)
}

// kubeRoutes finds, at each serve refresh, the profiles deployed with
// --target kubernetes (the targets recorded under
// <state>/kubernetes/<context>/<namespace>/, the profiles of their history
// whose Deployment is on the cluster) and keeps a local port-forward open to
// each (kube.Forward: a broken one reconnects at the next connection).
type kubeRoutes struct {
	log *slog.Logger

	mu       sync.Mutex
	clients  map[string]kubeClient    // by kubeconfig and context
	forwards map[string]*kube.Forward // by profile
}

type kubeClient struct {
	cs  kubernetes.Interface
	cfg *rest.Config
}

func newKubeRoutes(log *slog.Logger) *kubeRoutes {
	return &kubeRoutes{log: log, clients: map[string]kubeClient{}, forwards: map[string]*kube.Forward{}}
}

// Close stops every forward.
func (k *kubeRoutes) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for name, f := range k.forwards {
		_ = f.Close()
		delete(k.forwards, name)
	}
}

// Remotes implements serve.Options.Remotes.
func (k *kubeRoutes) Remotes(ctx context.Context, p *project.Project) map[string]serve.Remote {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]serve.Remote{}
	dir := filepath.Join(deploy.New(p, nil).Store.Dir, "kubernetes")
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*", kubeTargetFile))
	slices.Sort(paths)
	for _, path := range paths {
		if err := k.target(ctx, p, path, out); err != nil {
			k.log.Warn("kubernetes routes", "target", path, "err", err)
		}
	}
	for name, f := range k.forwards {
		if _, ok := out[name]; !ok {
			_ = f.Close()
			delete(k.forwards, name)
		}
	}
	return out
}

// target adds the profiles of one recorded target to out (a profile already
// there, from an earlier target, stays).
func (k *kubeRoutes) target(ctx context.Context, p *project.Project, path string, out map[string]serve.Remote) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var t kubeTargetRecord
	if err := json.Unmarshal(b, &t); err != nil {
		return fmt.Errorf("%s: %w (remove it; the next up --target kubernetes writes it again)", path, err)
	}
	hist, err := state.Store{Dir: filepath.Dir(path)}.History("")
	if err != nil {
		return err
	}
	var profiles []string
	for _, r := range hist {
		if _, err := p.Profile(r.Profile); err == nil && !slices.Contains(profiles, r.Profile) {
			if _, taken := out[r.Profile]; !taken {
				profiles = append(profiles, r.Profile)
			}
		}
	}
	if len(profiles) == 0 {
		return nil
	}
	res, err := kube.Build(p, profiles, kube.Options{Version: Version, Namespace: t.Namespace})
	if err != nil {
		return err
	}
	key := t.Kubeconfig + "\x00" + t.Context
	c, ok := k.clients[key]
	if !ok {
		cs, cfg, _, err := kube.ConnectConfig(t.Kubeconfig, t.Context)
		if err != nil {
			return err
		}
		c = kubeClient{cs: cs, cfg: cfg}
		k.clients[key] = c
	}
	ctxName := t.Context
	if ctxName == "" {
		ctxName = kube.ContextName(t.Kubeconfig, "")
	}
	for _, eng := range res.Engines {
		_, gerr := c.cs.AppsV1().Deployments(t.Namespace).Get(ctx, eng.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			continue // removed (down --target kubernetes)
		}
		port := kube.EnginePort(eng)
		f := k.forwards[eng.Profile]
		if f != nil && !f.Matches(t.Namespace, eng.Name, port) {
			_ = f.Close()
			f = nil
		}
		if f == nil {
			if f, err = kube.StartForward(c.cs, c.cfg, t.Namespace, eng.Name, port); err != nil {
				return err
			}
			k.forwards[eng.Profile] = f
		}
		// The health probe through the forward says whether it answers.
		r := serve.Remote{BaseURL: "http://" + f.Addr(), Where: "kubernetes " + ctxName + " " + f.Target()}
		if gerr != nil {
			r.Reason = "the cluster did not answer: " + gerr.Error()
		}
		out[eng.Profile] = r
	}
	return nil
}

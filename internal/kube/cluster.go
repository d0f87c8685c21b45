package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Connect opens a client for a kubeconfig context ("" is the current one) as
// kubectl does (KUBECONFIG, ~/.kube/config); it returns the context's
// namespace too ("default" when it names none).
func Connect(kubeconfig, kubeContext string) (kubernetes.Interface, string, error) {
	cs, _, ns, err := ConnectConfig(kubeconfig, kubeContext)
	return cs, ns, err
}

// ConnectConfig is Connect that also returns the client's config, which the
// port-forward to an engine needs.
func ConnectConfig(kubeconfig, kubeContext string) (kubernetes.Interface, *rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, nil, "", fmt.Errorf("kubeconfig: %w (pass --kubeconfig FILE or set KUBECONFIG; --context picks one of its contexts)", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, nil, "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	return cs, cfg, ns, nil
}

// ContextName is the kubeconfig context Connect uses: kubeContext, else the
// current one ("" when the kubeconfig cannot be read).
func ContextName(kubeconfig, kubeContext string) string {
	if kubeContext != "" {
		return kubeContext
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}

// UpOptions tune Up.
type UpOptions struct {
	// Namespace of objects that name none: the kubeconfig context's (Connect
	// returns it). --namespace goes to Build's Options.Namespace instead.
	Namespace string
	Rollout   RolloutOptions
	// Follow: with a Config, each engine is followed as on Docker once its
	// pod runs (container log through the API into the startup-phase
	// monitor; ready when /health, /v1/models and a tiny completion answer
	// through a port-forward). Without one, only the rollout is followed.
	Follow FollowOptions
	// RollbackOnFailure: when an engine's rollout fails (a diagnosis, a
	// failed boot, a stall), its last good objects are applied again
	// (server-side, field manager vllmctl) and followed to ready. The last
	// good objects are the cluster's, read back before this apply when its
	// Deployment was vllmctl's and ready (LiveGood), else LastGood's.
	RollbackOnFailure bool
	// LastGood returns the last good objects the project state recorded for
	// a profile (nil: none). Asked only when the cluster holds none.
	LastGood func(profile string) (*Good, error)
	// OnRollback is called before the last good objects are applied again
	// (progress; may be nil).
	OnRollback func(profile string, g *Good)
	// OnOutcome receives each engine's end (may be nil).
	OnOutcome func(Outcome)
}

// Up is `vllmctl up --target kubernetes`: server-side apply of the project's
// Secret (when its values are known) and each engine's objects, then WaitReady
// for each engine (and, with Follow.Config, the engine itself: followEngine).
// The first failure stops it: a *Diagnosis when the rollout is diagnosed, an
// *EngineFailure when the engine failed to start. With RollbackOnFailure, a
// failed engine is rolled back and the others are still followed; the first
// failure is returned.
func Up(ctx context.Context, cs kubernetes.Interface, r *Result, o UpOptions) error {
	ns := r.Namespace
	if ns == "" {
		ns = o.Namespace
	}
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	known := true
	for _, v := range r.Secrets {
		known = known && v.Known
	}
	// What each engine ran before, read before anything changes.
	goods := make([]*Good, len(r.Engines))
	if o.RollbackOnFailure {
		for i, e := range r.Engines {
			g, err := LiveGood(ctx, cs, ns, e)
			if err != nil {
				return err
			}
			if g == nil && o.LastGood != nil {
				if g, err = o.LastGood(e.Profile); err != nil {
					return fmt.Errorf("%s: the last good manifest: %w", e.Profile, err)
				}
			}
			goods[i] = g
		}
	}
	apply := ApplyOptions{Namespace: ns}
	if s := r.Secret(""); s != nil && known {
		if err := Apply(ctx, cs, apply, s); err != nil {
			return err
		}
	}
	for _, e := range r.Engines {
		if err := Apply(ctx, cs, apply, e.Objects()...); err != nil {
			return err
		}
	}
	applied := time.Now()
	ro := o.Rollout
	ro.Namespace = ns
	var first error
	for i, e := range r.Engines {
		err := follow(ctx, cs, e, ns, ro, o.Follow)
		out := Outcome{Profile: e.Profile, Hash: e.Deployment.Spec.Template.Labels[LabelHash], Err: err}
		if err == nil {
			out.Ready = time.Since(applied)
		}
		out.Applied, _ = GoodOf(e)
		if err != nil && o.RollbackOnFailure && !errors.Is(ctx.Err(), context.Canceled) {
			if g := goods[i]; g == nil {
				out.NoGood = true
			} else {
				out.RolledBack = rollback(ctx, cs, e, ns, g, ro, o)
			}
		}
		if o.OnOutcome != nil {
			o.OnOutcome(out)
		}
		if err != nil && first == nil {
			first = err
		}
		if err != nil && !o.RollbackOnFailure {
			return err
		}
	}
	return first
}

// follow waits for one engine: its rollout, and with fo.Config the engine.
func follow(ctx context.Context, cs kubernetes.Interface, e *Engine, ns string, ro RolloutOptions, fo FollowOptions) error {
	var err error
	if fo.Config != nil {
		err = followEngine(ctx, cs, e, ns, ro, fo)
	} else {
		err = WaitReady(ctx, cs, e.Name, ro)
	}
	var f *EngineFailure
	if err != nil && !errors.As(err, &f) {
		err = fmt.Errorf("%s: %w", e.Profile, err)
	}
	return err
}

// rollback applies an engine's last good objects again and follows them to
// ready. A rollout that ran out of time gets five more minutes.
func rollback(ctx context.Context, cs kubernetes.Interface, e *Engine, ns string, g *Good, ro RolloutOptions, o UpOptions) *Rollback {
	rb := &Rollback{Hash: g.Hash, Source: g.Source, Good: g}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
	}
	if o.OnRollback != nil {
		o.OnRollback(e.Profile, g)
	}
	back, err := g.engineOf(e)
	if err == nil {
		err = applyGood(ctx, cs, ns, g)
	}
	if err == nil {
		fo := o.Follow
		fo.OnResult = nil // the failed deploy's result is the one reported
		err = follow(ctx, cs, back, ns, ro, fo)
	}
	rb.Err = err
	return rb
}

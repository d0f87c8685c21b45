package kube

import (
	"context"
	"errors"
	"fmt"

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
}

// Up is `vllmctl up --target kubernetes`: server-side apply of the project's
// Secret (when its values are known) and each engine's objects, then WaitReady
// for each engine (and, with Follow.Config, the engine itself: followEngine).
// The first failure stops it: a *Diagnosis when the rollout is diagnosed, an
// *EngineFailure when the engine failed to start.
func Up(ctx context.Context, cs kubernetes.Interface, r *Result, o UpOptions) error {
	ns := r.Namespace
	if ns == "" {
		ns = o.Namespace
	}
	known := true
	for _, v := range r.Secrets {
		known = known && v.Known
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
	ro := o.Rollout
	ro.Namespace = ns
	for _, e := range r.Engines {
		var err error
		if o.Follow.Config != nil {
			err = followEngine(ctx, cs, e, ns, ro, o.Follow)
		} else {
			err = WaitReady(ctx, cs, e.Name, ro)
		}
		var f *EngineFailure
		if errors.As(err, &f) {
			return err
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.Profile, err)
		}
	}
	return nil
}

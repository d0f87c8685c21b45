package kube

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Connect opens a client for a kubeconfig context ("" is the current one) as
// kubectl does (KUBECONFIG, ~/.kube/config); it returns the context's
// namespace too ("default" when it names none).
func Connect(kubeconfig, kubeContext string) (kubernetes.Interface, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w (pass --kubeconfig FILE or set KUBECONFIG; --context picks one of its contexts)", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	return cs, ns, nil
}

// UpOptions tune Up.
type UpOptions struct {
	// Namespace of objects that name none: the kubeconfig context's (Connect
	// returns it). --namespace goes to Build's Options.Namespace instead.
	Namespace string
	Rollout   RolloutOptions
}

// Up is `vllmctl up --target kubernetes`: server-side apply of the project's
// Secret (when its values are known) and each engine's objects, then WaitReady
// for each engine. The first failure stops it (a *Diagnosis when diagnosed).
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
		if err := WaitReady(ctx, cs, e.Name, ro); err != nil {
			return fmt.Errorf("%s: %w", e.Profile, err)
		}
	}
	return nil
}

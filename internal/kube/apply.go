package kube

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// FieldManager is the server-side apply field manager of vllmctl.
const FieldManager = "vllmctl"

// ApplyOptions tune Apply.
type ApplyOptions struct {
	Namespace string // for objects that name none
	DryRun    bool   // server-side dry run: validated and admitted, not stored
}

// Apply server-side applies objects (Secret, PersistentVolumeClaim, Service,
// Deployment) with field manager vllmctl, in order; the first error stops it
// and names the object.
func Apply(ctx context.Context, cs kubernetes.Interface, opts ApplyOptions, objs ...runtime.Object) error {
	force := true
	po := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if opts.DryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	for _, o := range objs {
		m, err := toMap(o)
		if err != nil {
			return err
		}
		meta, _ := m["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		if ns == "" {
			ns = opts.Namespace
			if ns == "" {
				ns = metav1.NamespaceDefault
			}
			meta["namespace"] = ns
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		switch o.(type) {
		case *appsv1.Deployment:
			_, err = cs.AppsV1().Deployments(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case *corev1.Service:
			_, err = cs.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case *corev1.PersistentVolumeClaim:
			_, err = cs.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case *corev1.Secret:
			_, err = cs.CoreV1().Secrets(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		default:
			return fmt.Errorf("apply: %T is not an object vllmctl writes", o)
		}
		if err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", m["kind"], ns, name, err)
		}
	}
	return nil
}

// AllObjects is every object of a result in apply order: the Secret (with its
// values; nil when there is none), then each engine's claim, Service and Deployment.
func (r *Result) AllObjects() []runtime.Object {
	var out []runtime.Object
	if s := r.Secret(""); s != nil {
		out = append(out, s)
	}
	for _, e := range r.Engines {
		out = append(out, e.Objects()...)
	}
	return out
}

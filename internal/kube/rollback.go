package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Good is an engine's objects as they last ran ready: its Service and
// Deployment as vllmctl applied them. up --rollback-on-failure applies them
// again when a new rollout fails.
type Good struct {
	Profile string
	Hash    string // the config hash of its pod template (LabelHash)
	// Source says where it was found: "cluster" (read back from the cluster
	// before the new apply, the fields of field manager vllmctl) or "state"
	// (the project's record of the last ready deploy).
	Source  string
	Objects []*unstructured.Unstructured // the Service, then the Deployment
}

// Sources of a Good.
const (
	GoodFromCluster = "cluster"
	GoodFromState   = "state"
)

// GoodOf is what Up applies for an engine, to be recorded once it is ready.
func GoodOf(e *Engine) (*Good, error) {
	g := &Good{Profile: e.Profile, Hash: e.Deployment.Spec.Template.Labels[LabelHash]}
	for _, o := range []runtime.Object{e.Svc, e.Deployment} {
		m, err := toMap(o)
		if err != nil {
			return nil, err
		}
		g.Objects = append(g.Objects, &unstructured.Unstructured{Object: m})
	}
	return g, nil
}

// YAML is the objects as one YAML stream (what the project state keeps).
func (g *Good) YAML() ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range g.Objects {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// ParseGood reads what Good.YAML wrote. The hash is the Deployment's.
func ParseGood(profile string, data []byte) (*Good, error) {
	g := &Good{Profile: profile, Source: GoodFromState}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, err
		}
		switch u.GetKind() {
		case "Deployment":
			g.Hash, _, _ = unstructured.NestedString(u.Object, "spec", "template", "metadata", "labels", LabelHash)
		case "Service":
		default:
			return nil, fmt.Errorf("a %s is not an object a rollback applies", u.GetKind())
		}
		g.Objects = append(g.Objects, u)
	}
	if g.deployment() == nil {
		return nil, fmt.Errorf("no Deployment in the recorded manifest of %s", profile)
	}
	return g, nil
}

func (g *Good) deployment() *unstructured.Unstructured {
	for _, o := range g.Objects {
		if o.GetKind() == "Deployment" {
			return o
		}
	}
	return nil
}

// LiveGood reads back what the cluster runs for an engine before a new
// apply: its Deployment and Service as field manager vllmctl applied them,
// when the Deployment carries a config hash and its rollout is ready; nil
// when there is no such Deployment (absent, not vllmctl's, or not ready).
func LiveGood(ctx context.Context, cs kubernetes.Interface, ns string, e *Engine) (*Good, error) {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, e.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment %s/%s before applying: %w", ns, e.Name, err)
	}
	hash := d.Spec.Template.Labels[LabelHash]
	if hash == "" {
		return nil, nil
	}
	st, err := rolloutState(ctx, cs, ns, e.Name)
	if err != nil || !st.ready {
		return nil, err
	}
	dac, err := appsv1ac.ExtractDeployment(d, FieldManager)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: %w", ns, e.Name, err)
	}
	if dac.Spec == nil || dac.Spec.Template == nil {
		return nil, nil // not applied by vllmctl
	}
	g := &Good{Profile: e.Profile, Hash: hash, Source: GoodFromCluster}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, e.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read service %s/%s before applying: %w", ns, e.Name, err)
	default:
		sac, err := corev1ac.ExtractService(svc, FieldManager)
		if err != nil {
			return nil, fmt.Errorf("service %s/%s: %w", ns, e.Name, err)
		}
		if sac.Spec != nil {
			u, err := acToUnstructured(sac)
			if err != nil {
				return nil, err
			}
			g.Objects = append(g.Objects, u)
		}
	}
	u, err := acToUnstructured(dac)
	if err != nil {
		return nil, err
	}
	g.Objects = append(g.Objects, u)
	return g, nil
}

func acToUnstructured(ac any) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(ac)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	return u, u.UnmarshalJSON(b)
}

// applyGood server-side applies a Good's objects (field manager vllmctl,
// forced: they take back the fields the failed apply set) into ns.
func applyGood(ctx context.Context, cs kubernetes.Interface, ns string, g *Good) error {
	force := true
	po := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	for _, o := range g.Objects {
		o = o.DeepCopy()
		o.SetNamespace(ns)
		data, err := o.MarshalJSON()
		if err != nil {
			return err
		}
		name := o.GetName()
		switch o.GetKind() {
		case "Deployment":
			_, err = cs.AppsV1().Deployments(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case "Service":
			_, err = cs.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		default:
			return fmt.Errorf("rollback: a %s is not an object vllmctl applies", o.GetKind())
		}
		if err != nil {
			return fmt.Errorf("apply %s %s/%s again: %w", o.GetKind(), ns, name, err)
		}
	}
	return nil
}

// engineOf is e with the Good's Deployment and Service, to follow the
// rolled-back engine: its port, and its served name when its command line
// says one (the API key stays e's).
func (g *Good) engineOf(e *Engine) (*Engine, error) {
	back := *e
	for _, o := range g.Objects {
		var err error
		switch o.GetKind() {
		case "Deployment":
			d := &appsv1.Deployment{}
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d)
			back.Deployment = d
			back.served = servedNames(d)
		case "Service":
			s := &corev1.Service{}
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, s)
			back.Svc = s
		}
		if err != nil {
			return nil, fmt.Errorf("the last good %s of %s: %w", o.GetKind(), e.Profile, err)
		}
	}
	return &back, nil
}

// Rollback is how re-applying an engine's last good objects ended.
type Rollback struct {
	Hash   string // the config hash rolled back to
	Source string // GoodFromCluster or GoodFromState
	Err    error  // nil: ready again
	Good   *Good  // what was applied again
}

// Outcome is how Up ended for one engine.
type Outcome struct {
	Profile string
	Hash    string // the config hash applied
	Err     error  // nil: ready
	// Ready is the time from the apply to ready (0 when not ready): the
	// engines of one up are applied together and boot side by side.
	Ready time.Duration
	// Applied is the objects applied (what the project state records; the
	// last good manifest once ready).
	Applied *Good
	// RolledBack is set when the rollout failed under RollbackOnFailure and
	// a last good manifest was applied again; NoGood when there was none.
	RolledBack *Rollback
	NoGood     bool
}

// servedNames reads the served names from the engine container's command
// line (--served-model-name, else --model); nil when it names none.
func servedNames(d *appsv1.Deployment) []string {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == ContainerName {
			a := vllm.Parse(append(append([]string(nil), c.Command...), c.Args...))
			return a.ServedNames()
		}
	}
	return nil
}

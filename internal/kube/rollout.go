package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Diagnosis is why a rollout cannot become ready, and what to do.
type Diagnosis struct {
	Reason  string `json:"reason"` // FailedScheduling, ImagePullBackOff, OOMKilled, CrashLoopBackOff, StartupProbe
	Pod     string `json:"pod,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

func (d *Diagnosis) Error() string {
	s := d.Reason
	if d.Pod != "" {
		s += " (pod " + d.Pod + ")"
	}
	return s + ": " + d.Message + "\n  fix: " + d.Fix
}

// Diagnose reads a Deployment's pods and their events, newest first, for a
// failure that waiting will not cure. nil: nothing wrong yet.
func Diagnose(pods []corev1.Pod, events []corev1.Event) *Diagnosis {
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).After(eventTime(events[j])) })
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
				return &Diagnosis{Reason: "OOMKilled", Pod: p.Name, Message: fmt.Sprintf("container %s was killed for using more memory than its limit (exit %d)", cs.Name, t.ExitCode),
					Fix: "raise deploy.resources.limits.memory (the pod's memory limit), or lower --max-model-len / --max-num-seqs so the engine needs less host memory"}
			}
			if t := cs.State.Terminated; t != nil && t.Reason == "OOMKilled" {
				return &Diagnosis{Reason: "OOMKilled", Pod: p.Name, Message: "container " + cs.Name + " was killed for using more memory than its limit",
					Fix: "raise deploy.resources.limits.memory, or lower --max-model-len / --max-num-seqs"}
			}
			if w := cs.State.Waiting; w != nil {
				switch w.Reason {
				case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
					return &Diagnosis{Reason: w.Reason, Pod: p.Name, Message: fmt.Sprintf("image %s: %s", cs.Image, w.Message),
						Fix: "check the image name and tag in the compose file, that the cluster's nodes reach its registry, and an imagePullSecret for a private one"}
				case "CrashLoopBackOff":
					return &Diagnosis{Reason: "CrashLoopBackOff", Pod: p.Name, Message: fmt.Sprintf("container %s exits and restarts (%d restarts): %s", cs.Name, cs.RestartCount, w.Message),
						Fix: "read its log (kubectl logs --previous " + p.Name + "): vLLM prints the failing argument or the CUDA error last"}
				case "CreateContainerConfigError":
					return &Diagnosis{Reason: w.Reason, Pod: p.Name, Message: w.Message,
						Fix: "create the project's Secret first (export kubernetes --include-secrets -O DIR, then kubectl apply -f DIR/secret.yaml)"}
				}
			}
		}
	}
	for _, e := range events {
		switch {
		case e.Reason == "FailedScheduling":
			d := &Diagnosis{Reason: "FailedScheduling", Pod: e.InvolvedObject.Name, Message: e.Message}
			switch {
			case strings.Contains(e.Message, "Insufficient nvidia.com/gpu"), strings.Contains(e.Message, "Insufficient amd.com/gpu"):
				d.Fix = "no node has that many free GPUs: free some (vllmctl down another profile), lower --tensor-parallel-size, or add GPU nodes"
			case strings.Contains(e.Message, "untolerated taint"):
				d.Fix = "the GPU nodes are tainted: add the taint to x-vllmctl.kubernetes.tolerations (e.g. {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule})"
			case strings.Contains(e.Message, "didn't match Pod's node affinity/selector"):
				d.Fix = "no node carries the labels of x-vllmctl.kubernetes.node_selector / affinity: check them with kubectl get nodes --show-labels"
			case strings.Contains(e.Message, "persistentvolumeclaim"), strings.Contains(e.Message, "PersistentVolumeClaim"):
				d.Fix = "the cache claim is not bound: set x-vllmctl.kubernetes.hf_cache.storage_class, or use an existing claim or a host_path"
			default:
				d.Fix = "see kubectl describe pod " + e.InvolvedObject.Name
			}
			return d
		case e.Reason == "Unhealthy" && strings.Contains(e.Message, "Startup probe failed") && e.Count >= 3:
			// reported, not terminal: the startupProbe's own budget ends it
		}
	}
	return nil
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// RolloutOptions tune WaitReady.
type RolloutOptions struct {
	Namespace string
	Interval  time.Duration                 // between looks; default 250 ms
	Progress  func(name, state string)      // each change of state; may be nil
	Now       func() time.Time              // for tests; default time.Now
	OnPods    func(pods []corev1.Pod) error // optional extra check (e.g. a port-forward probe)
}

// ErrNotFound: the Deployment is not there.
var ErrNotFound = errors.New("deployment not found")

// WaitReady follows a Deployment's rollout until its new ReplicaSet's pod is
// ready (nil), a failure that waiting will not cure is diagnosed (*Diagnosis),
// or ctx ends.
func WaitReady(ctx context.Context, cs kubernetes.Interface, name string, o RolloutOptions) error {
	ns := o.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	if o.Interval == 0 {
		o.Interval = 250 * time.Millisecond
	}
	last := ""
	for {
		state, err := rolloutState(ctx, cs, ns, name)
		if err != nil {
			return err
		}
		if state.msg != last && o.Progress != nil {
			o.Progress(name, state.msg)
		}
		last = state.msg
		if state.diag != nil {
			return state.diag
		}
		if state.ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deployment %s/%s not ready (%s): %w", ns, name, last, ctx.Err())
		case <-time.After(o.Interval):
		}
	}
}

type rollout struct {
	ready bool
	msg   string
	diag  *Diagnosis
	pods  []corev1.Pod // of the Deployment's current template
}

func rolloutState(ctx context.Context, cs kubernetes.Interface, ns, name string) (rollout, error) {
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return rollout{}, fmt.Errorf("%s/%s: %w", ns, name, ErrNotFound)
	}
	if err != nil {
		return rollout{}, err
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return rollout{}, err
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return rollout{}, err
	}
	// Only the pods of the Deployment's current template count.
	hash := d.Spec.Template.Labels[LabelHash]
	var cur []corev1.Pod
	for _, p := range pods.Items {
		if hash == "" || p.Labels[LabelHash] == hash {
			cur = append(cur, p)
		}
	}
	st := d.Status
	if st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.ReadyReplicas == want && st.Replicas == want {
		return rollout{ready: true, msg: "ready", pods: cur}, nil
	}
	var events []corev1.Event
	for _, p := range cur {
		ev, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
		if err != nil {
			return rollout{}, err
		}
		events = append(events, ev.Items...)
	}
	msg := podsSummary(d, cur)
	return rollout{msg: msg, diag: Diagnose(cur, events), pods: cur}, nil
}

func podsSummary(d *appsv1.Deployment, pods []corev1.Pod) string {
	if len(pods) == 0 {
		return fmt.Sprintf("waiting for a pod (%d/%d updated)", d.Status.UpdatedReplicas, ptrOr(d.Spec.Replicas, 1))
	}
	var parts []string
	for _, p := range pods {
		s := string(p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				s = "Unschedulable"
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			switch {
			case cs.State.Waiting != nil:
				s = cs.State.Waiting.Reason
			case cs.State.Running != nil && !cs.Ready:
				s = "Running, not ready (loading the model)"
			}
		}
		parts = append(parts, p.Name+" "+s)
	}
	return strings.Join(parts, ", ")
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

// Down deletes the Deployments and Services of a result (claims and the
// Secret stay: the model cache and keys outlive a deploy) and waits until
// their pods are gone or ctx ends.
func Down(ctx context.Context, cs kubernetes.Interface, r *Result, namespace string) error {
	ns := namespace
	if ns == "" {
		ns = r.Namespace
	}
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	fg := metav1.DeletePropagationForeground
	for _, e := range r.Engines {
		if err := cs.AppsV1().Deployments(ns).Delete(ctx, e.Name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete deployment %s/%s: %w", ns, e.Name, err)
		}
		if err := cs.CoreV1().Services(ns).Delete(ctx, e.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete service %s/%s: %w", ns, e.Name, err)
		}
	}
	for _, e := range r.Engines {
		sel := labels.SelectorFromSet(e.Deployment.Spec.Selector.MatchLabels).String()
		for {
			pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				return err
			}
			if len(pods.Items) == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %d pod(s) still there: %w", e.Name, len(pods.Items), ctx.Err())
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

// StatusRow is one engine on the cluster, with status's columns.
type StatusRow struct {
	Profile   string `json:"profile"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	State     string `json:"state"` // ready, starting, failed: <reason>, absent
	Ready     string `json:"ready"` // ready/desired replicas
	Image     string `json:"image"`
	GPUs      string `json:"gpus"`
	Hash      string `json:"config_hash"`
	Drift     bool   `json:"drift"` // the running hash is not the files'
}

// Status reads each engine of a result from the cluster.
func Status(ctx context.Context, cs kubernetes.Interface, r *Result, namespace string) ([]StatusRow, error) {
	ns := namespace
	if ns == "" {
		ns = r.Namespace
	}
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	var rows []StatusRow
	for _, e := range r.Engines {
		row := StatusRow{Profile: e.Profile, Name: e.Name, Namespace: ns, State: "absent", GPUs: fmt.Sprint(e.GPUs)}
		st, err := rolloutState(ctx, cs, ns, e.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			rows = append(rows, row)
			continue
		case err != nil:
			return nil, err
		}
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, e.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		row.Ready = fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, ptrOr(d.Spec.Replicas, 1))
		row.Image = d.Spec.Template.Spec.Containers[0].Image
		row.Hash = d.Spec.Template.Labels[LabelHash]
		row.Drift = row.Hash != e.Deployment.Spec.Template.Labels[LabelHash]
		switch {
		case st.ready:
			row.State = "ready"
		case st.diag != nil:
			row.State = "failed: " + st.diag.Reason
		default:
			row.State = "starting"
		}
		rows = append(rows, row)
	}
	return rows, nil
}

package kube

import (
	"context"
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestWaitStartedEnginePodLogs: the follower waits for the pod of the
// Deployment's current template whose engine container runs (a pod of an
// older template does not count), EnginePod picks that pod, and Logs reads
// its container log through the API.
func TestWaitStartedEnginePodLogs(t *testing.T) {
	sel := map[string]string{LabelInst: "e"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelInst: "e", LabelHash: "new"}}}}}
	pod := func(name, hash string, running bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{LabelInst: "e", LabelHash: hash}}}
		cs := corev1.ContainerStatus{Name: ContainerName}
		if running {
			cs.State.Running = &corev1.ContainerStateRunning{}
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
		return p
	}
	cs := fake.NewClientset(dep, pod("old", "old", true), pod("new", "new", false))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	started := make(chan *corev1.Pod, 1)
	go func() {
		p, err := waitStarted(ctx, cs, "ns", "e", RolloutOptions{Interval: 5 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		started <- p
	}()
	// The pod of the old template runs; the new one only now starts.
	if _, err := cs.CoreV1().Pods("ns").Update(ctx, pod("new", "new", true), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := <-started; p == nil || p.Name != "new" {
		t.Fatalf("waitStarted = %v, want pod new", p)
	}
	p, err := EnginePod(ctx, cs, "ns", "e")
	if err != nil || p.Name != "new" {
		t.Fatalf("EnginePod = %v (%v), want new", p, err)
	}
	var lines []string
	if err := Logs(ctx, cs, "ns", p.Name, LogOptions{}, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "fake logs" { // what the fake clientset's log endpoint answers
		t.Fatalf("Logs = %q", lines)
	}
	if _, err := EnginePod(ctx, cs, "ns", "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("EnginePod of an absent Deployment = %v, want ErrNotFound", err)
	}
}

// TestWaitStartedDiagnosis: a pod that cannot be scheduled ends the wait
// with the diagnosis, not a timeout.
func TestWaitStartedDiagnosis(t *testing.T) {
	sel := map[string]string{LabelInst: "e"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}}}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: sel}}
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "ev", Namespace: "ns"}, InvolvedObject: corev1.ObjectReference{Name: "p"},
		Reason: "FailedScheduling", Message: "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."}
	cs := fake.NewClientset(dep, p, ev)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := waitStarted(ctx, cs, "ns", "e", RolloutOptions{Interval: 5 * time.Millisecond})
	var d *Diagnosis
	if !errors.As(err, &d) || d.Reason != "FailedScheduling" {
		t.Fatalf("waitStarted = %v, want FailedScheduling", err)
	}
}

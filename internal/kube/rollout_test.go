package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func podWith(name string, cs corev1.ContainerStatus) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{cs}}}
}

func TestDiagnose(t *testing.T) {
	waiting := func(reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "vllm", Image: "vllm/vllm-openai:v9", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	sched := func(msg string) []corev1.Event {
		return []corev1.Event{{InvolvedObject: corev1.ObjectReference{Name: "p"}, Reason: "FailedScheduling", Message: msg}}
	}
	cases := []struct {
		name   string
		pods   []corev1.Pod
		events []corev1.Event
		reason string
		fix    string // a part of the fix
	}{
		{"gpus", nil, sched("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."), "FailedScheduling", "lower --tensor-parallel-size"},
		{"taint", nil, sched("0/2 nodes are available: 2 node(s) had untolerated taint {nvidia.com/gpu: }."), "FailedScheduling", "x-vllmctl.kubernetes.tolerations"},
		{"selector", nil, sched("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."), "FailedScheduling", "node_selector"},
		{"pull", []corev1.Pod{podWith("p", waiting("ImagePullBackOff", "Back-off pulling image"))}, nil, "ImagePullBackOff", "image name and tag"},
		{"crash", []corev1.Pod{podWith("p", waiting("CrashLoopBackOff", "back-off 40s"))}, nil, "CrashLoopBackOff", "kubectl logs --previous p"},
		{"secret", []corev1.Pod{podWith("p", waiting("CreateContainerConfigError", `secret "vllm-secrets" not found`))}, nil, "CreateContainerConfigError", "secret.yaml"},
		{"oom", []corev1.Pod{podWith("p", corev1.ContainerStatus{Name: "vllm", LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}})}, nil, "OOMKilled", "limits.memory"},
		{"loading", []corev1.Pod{podWith("p", corev1.ContainerStatus{Name: "vllm", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})}, nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Diagnose(c.pods, c.events)
			if c.reason == "" {
				if d != nil {
					t.Fatalf("Diagnose = %v, want nothing wrong", d)
				}
				return
			}
			if d == nil || d.Reason != c.reason || !strings.Contains(d.Fix, c.fix) {
				t.Fatalf("Diagnose = %+v, want %s with a fix naming %q", d, c.reason, c.fix)
			}
		})
	}
}

// TestWaitReadyStatusDown drives the rollout follower on a fake clientset:
// a pending pod with FailedScheduling is diagnosed; once the Deployment
// reports its replica ready, WaitReady returns within one interval; Status
// shows it; Down deletes it.
func TestWaitReadyStatusDown(t *testing.T) {
	res := buildExample(t)
	e := res.Engines[0]
	cs := fake.NewClientset()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dep := e.Deployment.DeepCopy()
	dep.Namespace = "llm"
	if _, err := cs.AppsV1().Deployments("llm").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: e.Name + "-abc", Namespace: "llm", Labels: dep.Spec.Template.Labels}}
	if _, err := cs.CoreV1().Pods("llm").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "ev1", Namespace: "llm"}, InvolvedObject: corev1.ObjectReference{Name: pod.Name},
		Reason: "FailedScheduling", Message: "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."}
	if _, err := cs.CoreV1().Events("llm").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	err := WaitReady(ctx, cs, e.Name, RolloutOptions{Namespace: "llm", Interval: 10 * time.Millisecond, Progress: func(_, s string) { seen = append(seen, s) }})
	var d *Diagnosis
	if !errors.As(err, &d) || d.Reason != "FailedScheduling" {
		t.Fatalf("WaitReady = %v, want the FailedScheduling diagnosis", err)
	}
	if len(seen) == 0 {
		t.Error("no progress reported")
	}
	rows, err := Status(ctx, cs, res, "llm")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].State != "failed: FailedScheduling" || rows[0].Drift {
		t.Errorf("status row %+v, want failed: FailedScheduling, no drift", rows[0])
	}
	if rows[1].State != "absent" {
		t.Errorf("status of an engine not applied = %q, want absent", rows[1].State)
	}

	// Scheduled and ready: the event goes, the Deployment reports 1 ready replica.
	if err := cs.CoreV1().Events("llm").Delete(ctx, "ev1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		d, _ := cs.AppsV1().Deployments("llm").Get(ctx, e.Name, metav1.GetOptions{})
		d.Status = appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		_, _ = cs.AppsV1().Deployments("llm").UpdateStatus(ctx, d, metav1.UpdateOptions{})
	}()
	if err := WaitReady(ctx, cs, e.Name, RolloutOptions{Namespace: "llm", Interval: 10 * time.Millisecond}); err != nil {
		t.Fatalf("WaitReady after the pod is ready: %v", err)
	}
	rows, err = Status(ctx, cs, res, "llm")
	if err != nil || rows[0].State != "ready" || rows[0].Ready != "1/1" {
		t.Fatalf("status = %+v (%v), want ready 1/1", rows, err)
	}
	if err := cs.CoreV1().Pods("llm").Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, cs, res, "llm"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments("llm").Get(ctx, e.Name, metav1.GetOptions{}); err == nil {
		t.Error("Down left the Deployment")
	}
	if err := WaitReady(ctx, cs, e.Name, RolloutOptions{Namespace: "llm"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("WaitReady after Down = %v, want ErrNotFound", err)
	}
}

func buildExample(t *testing.T) *Result {
	t.Helper()
	a := mustArchive(t, "testdata/export/example.txtar")
	p, opts := loadArchive(t, a)
	res, err := Build(p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

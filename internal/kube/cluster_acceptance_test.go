//go:build acceptance

package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllmctl/vllmctl/internal/kube/kubetest"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// These tests run on a real control plane (make kube-testbin builds it):
// etcd, kube-apiserver, kube-scheduler, kube-controller-manager and kwok with
// one fake node of 3 nvidia.com/gpu.

// TestClusterDryRunApply: every export of the golden archives that exports
// passes a server-side dry-run apply (schema, defaults, admission).
func TestClusterDryRunApply(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	paths, _ := filepath.Glob("testdata/export/*.txtar")
	applied := 0
	for _, path := range paths {
		a, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, opts := loadArchive(t, a)
		res, err := Build(p, nil, opts)
		if err != nil {
			continue // the refusals are golden-tested
		}
		ns := res.Namespace
		if ns == "" {
			ns = "default"
		}
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
		if err := Apply(ctx, c.Client, ApplyOptions{DryRun: true}, res.AllObjects()...); err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
		applied += len(res.AllObjects())
	}
	if applied < 10 {
		t.Fatalf("dry-run applied %d objects, want those of the example and the other exports", applied)
	}
	// Nothing was stored.
	deps, err := c.Client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) != 0 {
		t.Errorf("a dry run stored %d Deployments", len(deps.Items))
	}
}

// gpuProject writes a one-file project whose engine asks gpus GPUs and keeps
// its cache on a hostPath (the test cluster has no storage provisioner).
func gpuProject(t *testing.T, gpus int) *project.Project {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gpu")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	compose := kubetest.GPUProfile(gpus)
	file := filepath.Join(dir, fmt.Sprintf("gpu%d.yaml", gpus))
	if err := os.WriteFile(file, []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(context.Background(), project.Options{Root: dir, Files: []string{file}, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClusterGPUScheduling: a 2-GPU export is scheduled and Running on the
// 3-GPU node; a 4-GPU one stays Pending with FailedScheduling "Insufficient
// nvidia.com/gpu".
func TestClusterGPUScheduling(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	two, err := Build(gpuProject(t, 2), nil, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if two.Engines[0].GPUs != 2 {
		t.Fatalf("engine asks %d GPUs, want 2", two.Engines[0].GPUs)
	}
	// up --target kubernetes: apply, then follow the rollout to ready.
	if err := Up(ctx, c.Client, two, UpOptions{}); err != nil {
		t.Fatalf("Up of the 2-GPU profile: %v", err)
	}
	sel := LabelProfile + "=gpu2"
	var running *corev1.Pod
	err = pollUntil(ctx, func() error {
		pods, err := c.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return err
		}
		for i := range pods.Items {
			if p := &pods.Items[i]; p.Status.Phase == corev1.PodRunning {
				running = p
				return nil
			}
		}
		return fmt.Errorf("%d pod(s), none Running", len(pods.Items))
	})
	if err != nil {
		t.Fatalf("2-GPU Deployment: %v", err)
	}
	if err := WaitReady(ctx, c.Client, "gpu2", RolloutOptions{}); err != nil {
		t.Fatalf("WaitReady of the 2-GPU Deployment: %v", err)
	}
	if running.Spec.NodeName != "gpu-node" {
		t.Errorf("pod on node %q, want gpu-node", running.Spec.NodeName)
	}
	if q := running.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; q.Value() != 2 {
		t.Errorf("pod limit nvidia.com/gpu = %s, want 2", q.String())
	}

	four, err := Build(gpuProject(t, 4), nil, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, c.Client, ApplyOptions{}, four.AllObjects()...); err != nil {
		t.Fatal(err)
	}
	var msg string
	err = pollUntil(ctx, func() error {
		evs, err := c.Client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedScheduling"})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if strings.HasPrefix(e.InvolvedObject.Name, "gpu4-") {
				msg = e.Message
				return nil
			}
		}
		return fmt.Errorf("no FailedScheduling event for gpu4 among %d", len(evs.Items))
	})
	if err != nil {
		t.Fatalf("4-GPU Deployment: %v", err)
	}
	if !strings.Contains(msg, "Insufficient nvidia.com/gpu") {
		t.Errorf("FailedScheduling message %q lacks Insufficient nvidia.com/gpu", msg)
	}
	pods, err := c.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: LabelProfile + "=gpu4"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodPending {
		t.Errorf("4-GPU pods = %v (%v), want one Pending", pods, err)
	}
	// The rollout follower diagnoses it with the fix.
	var d *Diagnosis
	if err := WaitReady(ctx, c.Client, "gpu4", RolloutOptions{}); !errors.As(err, &d) || d.Reason != "FailedScheduling" || !strings.Contains(d.Fix, "tensor-parallel-size") {
		t.Errorf("WaitReady of the 4-GPU Deployment = %v, want FailedScheduling with a fix", err)
	}
	rows, err := Status(ctx, c.Client, two, "")
	if err != nil || rows[0].State != "ready" {
		t.Errorf("Status = %+v (%v), want gpu2 ready", rows, err)
	}
	// down deletes and waits for the pods to go.
	if err := Down(ctx, c.Client, two, ""); err != nil {
		t.Fatalf("Down: %v", err)
	}
	left, err := c.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: LabelProfile + "=gpu2"})
	if err != nil || len(left.Items) != 0 {
		t.Errorf("after Down: %d gpu2 pods (%v)", len(left.Items), err)
	}
}

func pollUntil(ctx context.Context, f func() error) error {
	var last error
	for {
		if last = f(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// engineResult builds gpuProject(2) into namespace ns (each test engine routes a
// namespace's pods to its own simulator).
func engineResult(t *testing.T, ns string) *Result {
	t.Helper()
	r, err := Build(gpuProject(t, 2), nil, Options{Version: "test", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func createNamespace(t *testing.T, c *kubetest.Cluster, ns string) {
	t.Helper()
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// watchPodReady reports when a pod of namespace ns is first seen Ready
// (zero when the watch ends first).
func watchPodReady(t *testing.T, c *kubetest.Cluster, ns string) <-chan time.Time {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := c.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan time.Time, 1)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					out <- time.Now()
					return
				}
			}
		}
		out <- time.Time{}
	}()
	return out
}

// TestClusterEngineLoop: the whole loop on the control plane, the pod's
// engine being a vllm-sim whose log kwok serves (ClusterLogs) and whose port
// 8000 it forwards (ClusterPortForward). Up follows the container log
// through the API into the startup-phase monitor and is ready only when
// /health, /v1/models and a completion answer through a port-forward; a
// boot that fails (CUDA out of memory while loading) gets the diagnosis and
// fix it gets on Docker; logs reads the log through the API.
func TestClusterEngineLoop(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	createNamespace(t, c, "boot-ok")
	createNamespace(t, c, "boot-fail")

	// --- a good boot: load time long enough that the pod runs before the engine answers
	good := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2", "--sim-load-time", "4s")
	if err := c.RouteNamespace(ctx, "boot-ok", good.LogFile, good.Port); err != nil {
		t.Fatal(err)
	}
	podReady := watchPodReady(t, c, "boot-ok")
	var (
		mu     sync.Mutex
		events []monitor.Event
		result *monitor.Result
	)
	fo := FollowOptions{Config: c.Config, Completion: true,
		OnEvent:  func(e monitor.Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
		OnResult: func(_ string, r monitor.Result) { mu.Lock(); result = &r; mu.Unlock() }}
	r := engineResult(t, "boot-ok")
	err := Up(ctx, c.Client, r, UpOptions{Follow: fo})
	upDone := time.Now()
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	mu.Lock()
	if result == nil || result.Outcome != monitor.Ready {
		t.Fatalf("monitor result %+v, want ready", result)
	}
	phases := map[vllm.Phase]bool{}
	for _, e := range events {
		if e.Kind == "phase" {
			phases[e.Phase] = true
		}
	}
	mu.Unlock()
	for _, ph := range []vllm.Phase{vllm.PhaseLoading, vllm.PhaseKVCache, vllm.PhaseAPIServer} {
		if !phases[ph] {
			t.Errorf("no %s phase event from the log through the API (phases %v)", ph, phases)
		}
	}
	engineReady := good.ReadyAt()
	if engineReady.IsZero() || result.ReadyAt.Before(engineReady) {
		t.Errorf("reported ready at %v, the engine first answered at %v: ready before it answered", result.ReadyAt, engineReady)
	}
	// The rollout is reported ready within 1 s of the pod becoming ready:
	// the later of the pod's Ready condition (seen through a watch) and the
	// engine answering /health (kwok marks the pod Ready at once; a real
	// kubelet only once the readiness probe on /health passes).
	pr := <-podReady
	if pr.IsZero() {
		t.Fatal("the pod never became Ready")
	}
	both := pr
	if engineReady.After(both) {
		both = engineReady
	}
	lag := upDone.Sub(both)
	t.Logf("rollout reported ready %v after the pod was ready (pod Ready %v, engine answered %v after the pod)",
		lag, pr.Format(time.RFC3339Nano), engineReady.Sub(pr))
	if lag > time.Second {
		t.Errorf("Up returned %v after the pod was ready and the engine answered, want within 1s", lag)
	}
	pod, err := EnginePod(ctx, c.Client, "boot-ok", r.Engines[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	var logLines []string
	if err := Logs(ctx, c.Client, "boot-ok", pod.Name, LogOptions{}, func(l string) { logLines = append(logLines, l) }); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(logLines, func(l string) bool { return strings.Contains(l, "Starting vLLM API server") }) {
		t.Errorf("logs through the API lack the API server line (%d lines)", len(logLines))
	}
	if rows, err := Status(ctx, c.Client, r, ""); err != nil || rows[0].State != "ready" {
		t.Errorf("Status = %+v (%v), want ready", rows, err)
	}

	// down frees the node's GPUs for the next boot
	if err := Down(ctx, c.Client, r, ""); err != nil {
		t.Fatalf("Down: %v", err)
	}

	// --- a failed boot: the same diagnosis and fix as on Docker
	bad := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2", "--sim-fail-at", "loading", "--sim-fail-error", "oom")
	if err := c.RouteNamespace(ctx, "boot-fail", bad.LogFile, bad.Port); err != nil {
		t.Fatal(err)
	}
	err = Up(ctx, c.Client, engineResult(t, "boot-fail"), UpOptions{Follow: FollowOptions{Config: c.Config, Completion: true}})
	var f *EngineFailure
	if !errors.As(err, &f) {
		t.Fatalf("Up of a boot that fails = %v, want an *EngineFailure", err)
	}
	if f.Result.Outcome != monitor.Failed || f.Result.Fatal != "cuda-oom" || f.Result.Diagnosis == "" || f.Result.ConcreteFix() == "" {
		t.Errorf("failure = %+v, want failed with cuda-oom, a diagnosis and a fix", f.Result)
	}
	if !strings.Contains(f.Result.RootCause, "CUDA out of memory") {
		t.Errorf("the failure's root cause %q is not the CUDA error", f.Result.RootCause)
	}
	if len(f.Result.Tail) == 0 || !strings.Contains(f.Result.Tail[len(f.Result.Tail)-1], "Engine core initialization failed") {
		t.Errorf("the failure's last lines do not end with the engine's last line: %q", f.Result.Tail)
	}
	if !strings.Contains(err.Error(), "fix:") {
		t.Errorf("error %q does not say the fix", err)
	}
}

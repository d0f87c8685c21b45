//go:build acceptance

package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllmctl/vllmctl/internal/kube/kubetest"
	"github.com/vllmctl/vllmctl/internal/monitor"
)

// runningHash is the config hash of the Deployment's template and whether
// its rollout is ready, with the GPU limit of its pods.
func runningHash(t *testing.T, ctx context.Context, c *kubetest.Cluster, ns, name string) (hash string, ready bool, gpus int64) {
	t.Helper()
	st, err := rolloutState(ctx, c.Client, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.pods {
		q := p.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]
		gpus = q.Value()
	}
	return d.Spec.Template.Labels[LabelHash], st.ready, gpus
}

// TestClusterRollbackOnFailure: up --rollback-on-failure on the control plane.
// A ready 2-GPU deploy, then the same profile asking 4 GPUs: the rollout is
// diagnosed (FailedScheduling) and the 2-GPU manifest, read back from the
// cluster before the apply, is applied again and followed to ready (log,
// /health, /v1/models and a completion through the port-forward). Then, with
// no ready Deployment on the cluster, a boot that runs out of GPU memory is
// rolled back to the manifest the project state recorded. With no last good
// manifest at all, the failed one is left.
func TestClusterRollbackOnFailure(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns = "rollback"
	createNamespace(t, c, ns)
	good := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2")
	if err := c.RouteNamespace(ctx, ns, good.LogFile, good.Port); err != nil {
		t.Fatal(err)
	}
	var outcomes []Outcome
	opts := func(rollback bool, lastGood *Good) UpOptions {
		return UpOptions{RollbackOnFailure: rollback, Follow: FollowOptions{Config: c.Config, Completion: true},
			LastGood:  func(string) (*Good, error) { return lastGood, nil },
			OnOutcome: func(o Outcome) { outcomes = append(outcomes, o) }}
	}

	two := profileResult(t, ns, kubetest.GPUProfile(2))
	if err := Up(ctx, c.Client, two, opts(true, nil)); err != nil {
		t.Fatalf("Up of the 2-GPU profile: %v", err)
	}
	if len(outcomes) != 1 || outcomes[0].Err != nil || outcomes[0].Applied == nil || outcomes[0].RolledBack != nil {
		t.Fatalf("outcomes of a ready deploy = %+v, want one ready with its manifest", outcomes)
	}
	goodHash := outcomes[0].Hash
	recorded, err := outcomes[0].Applied.YAML() // what the project state keeps
	if err != nil {
		t.Fatal(err)
	}

	// --- a rollout the scheduler refuses: rolled back to what the cluster ran
	four := profileResult(t, ns, kubetest.GPUProfile(4))
	badHash := four.Engines[0].Deployment.Spec.Template.Labels[LabelHash]
	if badHash == goodHash || two.Engines[0].Name != four.Engines[0].Name {
		t.Fatalf("the 4-GPU config %q / %s should be another config of the same Deployment (%q / %s)", badHash, four.Engines[0].Name, goodHash, two.Engines[0].Name)
	}
	outcomes = nil
	err = Up(ctx, c.Client, four, opts(true, nil))
	var d *Diagnosis
	if !errors.As(err, &d) || d.Reason != "FailedScheduling" || !strings.Contains(d.Message, "Insufficient nvidia.com/gpu") {
		t.Fatalf("Up of the 4-GPU profile = %v, want the FailedScheduling diagnosis", err)
	}
	if len(outcomes) != 1 || outcomes[0].Hash != badHash || outcomes[0].Err == nil {
		t.Fatalf("outcomes = %+v, want the 4-GPU deploy failed", outcomes)
	}
	rb := outcomes[0].RolledBack
	if rb == nil || rb.Err != nil || rb.Hash != goodHash || rb.Source != GoodFromCluster {
		t.Fatalf("rollback = %+v, want ready again on %s, read back from the cluster", rb, goodHash)
	}
	if h, ready, gpus := runningHash(t, ctx, c, ns, two.Engines[0].Name); h != goodHash || !ready || gpus != 2 {
		t.Errorf("after the rollback the cluster runs config %s (ready %v, %d GPUs), want %s ready on 2 GPUs", h, ready, gpus, goodHash)
	}
	if rows, err := Status(ctx, c.Client, two, ns); err != nil || rows[0].State != "ready" || rows[0].Hash != goodHash || rows[0].Drift {
		t.Errorf("Status against the 2-GPU files = %+v (%v), want ready on %s without drift", rows, err, goodHash)
	}

	// --- a boot that fails, with nothing ready on the cluster: rolled back
	// to the manifest the project state recorded (parsed as read from disk).
	if err := Down(ctx, c.Client, two, ns); err != nil {
		t.Fatal(err)
	}
	bad := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2", "--sim-fail-at", "loading", "--sim-fail-error", "oom")
	if err := c.RouteNamespace(ctx, ns, bad.LogFile, bad.Port); err != nil {
		t.Fatal(err)
	}
	saved, err := ParseGood("medium", recorded)
	if err != nil || saved.Hash != goodHash {
		t.Fatalf("ParseGood of the recorded manifest: hash %v (%v), want %s", saved, err, goodHash)
	}
	oomy := profileResult(t, ns, strings.Replace(kubetest.GPUProfile(2), `"--tensor-parallel-size"`, `"--max-model-len", "32768", "--tensor-parallel-size"`, 1))
	oomHash := oomy.Engines[0].Deployment.Spec.Template.Labels[LabelHash]
	outcomes = nil
	o := opts(true, saved)
	rerouted := false
	o.OnRollback = func(profile string, g *Good) {
		// What the good config runs is the good engine again.
		rerouted = profile == "medium" && g.Hash == goodHash && c.RouteNamespace(ctx, ns, good.LogFile, good.Port) == nil
	}
	err = Up(ctx, c.Client, oomy, o)
	var f *EngineFailure
	if !errors.As(err, &f) || f.Result.Outcome != monitor.Failed || f.Result.Fatal != "cuda-oom" {
		t.Fatalf("Up of a boot that fails = %v, want an *EngineFailure (cuda-oom)", err)
	}
	if !rerouted {
		t.Fatal("OnRollback was not called with the recorded manifest")
	}
	if len(outcomes) != 1 || outcomes[0].Hash != oomHash {
		t.Fatalf("outcomes = %+v, want the failed boot of %s", outcomes, oomHash)
	}
	if rb := outcomes[0].RolledBack; rb == nil || rb.Err != nil || rb.Hash != goodHash || rb.Source != GoodFromState {
		t.Fatalf("rollback = %+v, want ready again on %s from the state's manifest", rb, goodHash)
	}
	if h, ready, gpus := runningHash(t, ctx, c, ns, two.Engines[0].Name); h != goodHash || !ready || gpus != 2 {
		t.Errorf("after the rollback the cluster runs config %s (ready %v, %d GPUs), want %s ready", h, ready, gpus, goodHash)
	}

	// --- no last good manifest: said so, the failed deploy is left.
	if err := Down(ctx, c.Client, two, ns); err != nil {
		t.Fatal(err)
	}
	outcomes = nil
	err = Up(ctx, c.Client, four, opts(true, nil))
	if !errors.As(err, &d) || len(outcomes) != 1 || !outcomes[0].NoGood || outcomes[0].RolledBack != nil {
		t.Fatalf("Up without a last good manifest = %v, outcomes %+v: want the diagnosis and NoGood", err, outcomes)
	}
	if h, ready, _ := runningHash(t, ctx, c, ns, four.Engines[0].Name); h != badHash || ready {
		t.Errorf("without a last good manifest the cluster holds config %s (ready %v), want the failed %s left", h, ready, badHash)
	}
}

// TestClusterForward: the port kept open for serve reaches the engine of a
// Deployment through the API server's port-forward, and reconnects to the
// new pod when the one it reached is gone.
func TestClusterForward(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "forward"
	createNamespace(t, c, ns)
	sim := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2")
	if err := c.RouteNamespace(ctx, ns, sim.LogFile, sim.Port); err != nil {
		t.Fatal(err)
	}
	r := profileResult(t, ns, kubetest.GPUProfile(2))
	if err := Up(ctx, c.Client, r, UpOptions{}); err != nil {
		t.Fatal(err)
	}
	e := r.Engines[0]
	f, err := StartForward(c.Client, c.Config, ns, e.Name, EnginePort(e))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Target() != ns+"/"+e.Name+":8000" || !strings.HasPrefix(f.Addr(), "127.0.0.1:") {
		t.Errorf("forward %s → %s, want 127.0.0.1:P → %s/%s:8000", f.Addr(), f.Target(), ns, e.Name)
	}
	// A new connection per request, as after an idle timeout.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	models := func() error {
		resp, err := client.Get("http://" + f.Addr() + "/v1/models")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "Qwen/Qwen3-8B") {
			return fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		return nil
	}
	if err := pollUntil(ctx, models); err != nil {
		t.Fatalf("/v1/models through the forward: %v", err)
	}
	first, _ := f.Pod()
	if first == "" {
		t.Fatal("the forward names no pod after a connection")
	}
	zero := int64(0)
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, first, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if err := pollUntil(ctx, func() error {
		p, err := EnginePod(ctx, c.Client, ns, e.Name)
		if err != nil {
			return err
		}
		if p.Name == first || p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod %s %s", p.Name, p.Status.Phase)
		}
		_, err = c.Client.CoreV1().Pods(ns).Get(ctx, first, metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("pod %s still there", first)
		}
		return nil
	}); err != nil {
		t.Fatalf("the replacement pod: %v", err)
	}
	if err := models(); err != nil {
		t.Fatalf("/v1/models through the forward once its pod was replaced: %v", err)
	}
	if now, _ := f.Pod(); now == first || now == "" {
		t.Errorf("the forward reached pod %q after %q was deleted, want the new one", now, first)
	}
}

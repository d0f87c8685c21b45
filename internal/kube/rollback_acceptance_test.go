//go:build acceptance

package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

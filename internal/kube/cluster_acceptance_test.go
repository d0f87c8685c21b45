//go:build acceptance

package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllmctl/vllmctl/internal/kube/kubetest"
	"github.com/vllmctl/vllmctl/internal/project"
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

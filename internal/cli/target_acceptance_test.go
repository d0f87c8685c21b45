//go:build acceptance

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/kube/kubetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTargetKubernetes runs up, status, logs and down --target kubernetes on
// a real control plane (make kube-testbin) with a kwok node of 3
// nvidia.com/gpu whose pods' engine is a vllm-sim (kwok serves its log and
// forwards port 8000 to it): a 2-GPU profile goes through its startup phases
// to ready, shows as ready, its log reads through the API, is removed; the
// same profile whose engine runs out of GPU memory while loading fails with
// the diagnosis and fix of Docker; a 4-GPU profile is diagnosed
// (FailedScheduling) with exit 1.
func TestTargetKubernetes(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
	setup, cancelSetup := context.WithTimeout(context.Background(), time.Minute)
	defer cancelSetup()
	good := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2")
	if err := c.RouteNamespace(setup, "default", good.LogFile, good.Port); err != nil {
		t.Fatal(err)
	}
	bad := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2", "--sim-fail-at", "loading", "--sim-fail-error", "oom")
	if _, err := c.Client.CoreV1().Namespaces().Create(setup, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "boot-fail"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.RouteNamespace(setup, "boot-fail", bad.LogFile, bad.Port); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "configs", "docker", "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 4} {
		compose := kubetest.GPUProfile(n)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("gpu%d.yml", n)), []byte(compose), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var out, errb bytes.Buffer
		args = append([]string{"-C", root}, args...)
		args = append(args, "--target", "kubernetes", "--kubeconfig", c.Kubeconfig)
		code := Main(ctx, args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run("up", "gpu2")
	if code != 0 || !strings.Contains(out, "gpu2") || !strings.Contains(out, "ready") {
		t.Fatalf("up gpu2: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, want := range []string{"loading", "api-server", "ready: /health, /v1/models and a completion answered"} {
		if !strings.Contains(errs, want) {
			t.Errorf("up gpu2: the progress lacks %q (the log through the API into the monitor)\n%s", want, errs)
		}
	}
	code, out, errs = run("logs", "gpu2")
	if code != 0 || !strings.Contains(out, "▶  ") || !strings.Contains(out, "Starting vLLM API server") {
		t.Errorf("logs gpu2: exit %d, want the engine log with phases marked\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, out, errs = run("status", "gpu2", "-o", "json")
	var rows []struct {
		Profile, State string
	}
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || rows[0].State != "ready" {
		t.Fatalf("status gpu2 -o json: exit %d (%v)\n%s\n%s", code, err, out, errs)
	}
	code, out, errs = run("up", "gpu4")
	if code != ExitFindings || !strings.Contains(errs, "Insufficient nvidia.com/gpu") {
		t.Errorf("up gpu4: exit %d, want %d and the scheduler's reason\nstdout:\n%s\nstderr:\n%s", code, ExitFindings, out, errs)
	}
	code, out, errs = run("down", "gpu2", "gpu4")
	if code != 0 || !strings.Contains(out, "gpu2: removed") {
		t.Fatalf("down: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run("status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 2 {
		t.Fatalf("status after down: exit %d (%v)\n%s", code, err, out)
	}
	for _, r := range rows {
		if r.State != "absent" {
			t.Errorf("after down: %s is %q, want absent", r.Profile, r.State)
		}
	}
	// A boot that runs out of GPU memory (the node's GPUs are free again):
	// the diagnosis, the cause, the fix and the last lines, as on Docker.
	code, out, errs = run("up", "gpu2", "-n", "boot-fail")
	if code != ExitFindings || !strings.Contains(out, "diagnosis:") || !strings.Contains(out, "fix:") || !strings.Contains(out, "cause:") ||
		!strings.Contains(out, "CUDA out of memory") || !strings.Contains(out, "last 30 log lines") {
		t.Errorf("up gpu2 -n boot-fail: exit %d, want %d with the diagnosis, the fix and the last lines\nstdout:\n%s\nstderr:\n%s", code, ExitFindings, out, errs)
	}
}

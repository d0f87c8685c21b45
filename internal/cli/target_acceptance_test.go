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
)

// TestTargetKubernetes runs up, status and down --target kubernetes on a real
// control plane (make kube-testbin) with a kwok node of 3 nvidia.com/gpu: a
// 2-GPU profile becomes ready, shows as ready, is removed; a 4-GPU profile is
// diagnosed (FailedScheduling) with exit 1.
func TestTargetKubernetes(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
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
}

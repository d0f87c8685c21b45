//go:build acceptance

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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

// TestTargetKubernetesRollback: up --target kubernetes --rollback-on-failure.
// A ready 2-GPU deploy of profile medium, then medium edited to ask 4 GPUs:
// the failure with its diagnosis (FailedScheduling), then "rolled back to
// <hash>: ready"; the cluster runs the 2-GPU config again; the history of
// the context and namespace records ready, failed and rolled-back. In a
// namespace where medium never ran, there is no last good manifest: said so,
// the failed deploy is left.
func TestTargetKubernetesRollback(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
	setup, cancelSetup := context.WithTimeout(context.Background(), time.Minute)
	defer cancelSetup()
	good := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2")
	if err := c.RouteNamespace(setup, "default", good.LogFile, good.Port); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(setup, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "configs", "docker", "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(gpus int) {
		if err := os.WriteFile(filepath.Join(dir, "medium.yml"), []byte(kubetest.GPUProfile(gpus)), 0o644); err != nil {
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
	type record struct {
		ID, File   string
		Hash       string `json:"config_hash"`
		Outcome    string
		Diagnosis  string
		RollbackOf string  `json:"rollback_of"`
		ReadySecs  float64 `json:"time_to_ready_seconds"`
	}
	history := func(ns string) []record {
		t.Helper()
		paths, _ := filepath.Glob(filepath.Join(root, ".vllmctl", "kubernetes", "*", ns, "history.json"))
		if len(paths) != 1 {
			t.Fatalf("history of namespace %s: %v, want one file under .vllmctl/kubernetes/<context>/%s", ns, paths, ns)
		}
		b, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		var recs []record
		if err := json.Unmarshal(b, &recs); err != nil {
			t.Fatal(err)
		}
		return recs
	}

	write(2)
	code, out, errs := run("up", "medium", "--rollback-on-failure")
	if code != 0 {
		t.Fatalf("up medium: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	recs := history("default")
	if len(recs) != 1 || recs[0].Outcome != "ready" || recs[0].File == "" || recs[0].ReadySecs <= 0 || recs[0].ReadySecs > 120 {
		t.Fatalf("history after a ready deploy = %+v, want one ready record with its manifest and its time to ready", recs)
	}
	goodHash := recs[0].Hash
	paths, _ := filepath.Glob(filepath.Join(root, ".vllmctl", "kubernetes", "*", "default", filepath.FromSlash(recs[0].File)))
	if len(paths) != 1 {
		t.Fatalf("the recorded manifest %s: found %v", recs[0].File, paths)
	}
	manifest, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manifest), "kind: Deployment") || !strings.Contains(string(manifest), goodHash) {
		t.Errorf("the recorded manifest lacks the Deployment of config %s:\n%s", goodHash, manifest)
	}

	write(4)
	code, out, errs = run("up", "medium", "--rollback-on-failure")
	fail := strings.Index(out, "Insufficient nvidia.com/gpu")
	back := strings.Index(out, "rolled back to "+goodHash+": ready")
	if code != ExitFindings || fail < 0 || back < fail || !strings.Contains(out, "fix:") {
		t.Fatalf("up medium (4 GPUs) --rollback-on-failure: exit %d, want %d, the diagnosis and its fix, then %q\nstdout:\n%s\nstderr:\n%s",
			code, ExitFindings, "rolled back to "+goodHash+": ready", out, errs)
	}
	t.Logf("up medium (4 GPUs) --rollback-on-failure, stdout:\n%s", out)
	recs = history("default")
	if len(recs) != 3 || recs[1].Outcome != "failed" || recs[1].Hash == goodHash || !strings.Contains(recs[1].Diagnosis, "FailedScheduling") ||
		recs[2].Outcome != "rolled-back" || recs[2].Hash != goodHash || recs[2].RollbackOf != recs[1].ID {
		t.Errorf("history = %+v, want ready, failed (FailedScheduling), rolled-back to %s of the failed one", recs, goodHash)
	}
	code, out, errs = run("status", "medium", "-o", "json")
	var rows []struct {
		State string
		Hash  string `json:"config_hash"`
		Drift bool
	}
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || rows[0].State != "ready" || rows[0].Hash != goodHash || !rows[0].Drift {
		t.Errorf("status after the rollback: exit %d (%v) %+v, want ready on %s, drifted from the 4-GPU files\n%s", code, err, rows, goodHash, errs)
	}

	code, out, errs = run("up", "medium", "--rollback-on-failure", "-n", "fresh")
	if code != ExitFindings || !strings.Contains(out, "Insufficient nvidia.com/gpu") || !strings.Contains(out, "no last good manifest of medium") {
		t.Errorf("up in a namespace medium never ran in: exit %d, want %d, the diagnosis and no last good manifest\nstdout:\n%s\nstderr:\n%s", code, ExitFindings, out, errs)
	}
	if recs := history("fresh"); len(recs) != 1 || recs[0].Outcome != "failed" {
		t.Errorf("history of namespace fresh = %+v, want the one failed deploy", recs)
	}
	code, out, _ = run("status", "medium", "-n", "fresh", "-o", "json")
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || !strings.HasPrefix(rows[0].State, "failed") {
		t.Errorf("status in namespace fresh: exit %d (%v) %+v, want the failed deploy left", code, err, rows)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeKubernetes: serve routes to a profile deployed with --target
// kubernetes through a port-forward it keeps open (logged as its route,
// "kubernetes <context> default/medium:8000"): a chat completion through the
// gateway is answered by the pod's engine, and still is once the pod was
// deleted and the Deployment made another (the forward's reconnection itself
// is TestClusterForward's: kwok keeps a stream to a deleted pod open); after
// down --target kubernetes the route is gone.
func TestServeKubernetes(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{GPUNode: 3})
	setup, cancelSetup := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelSetup()
	sim := kubetest.StartSim(t, "--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "2")
	if err := c.RouteNamespace(setup, "default", sim.LogFile, sim.Port); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "configs", "docker", "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "medium.yml"), []byte(kubetest.GPUProfile(2)), 0o644); err != nil {
		t.Fatal(err)
	}
	kube := func(args ...string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var out, errb bytes.Buffer
		args = append(append([]string{"-C", root}, args...), "--target", "kubernetes", "--kubeconfig", c.Kubeconfig)
		code := Main(ctx, args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := kube("up", "medium"); code != 0 {
		t.Fatalf("up medium: exit %d\n%s\n%s", code, out, errs)
	}

	// serve, with no local runtime running anything
	sctx, stop := context.WithCancel(context.Background())
	var sout, serr syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- Main(sctx, []string{"-C", root, "serve", "--listen", "127.0.0.1:0", "--no-dashboard", "--no-watchdog", "--refresh", "200ms", "--runtime", "process"},
			strings.NewReader(""), &sout, &serr)
	}()
	defer func() {
		stop()
		select {
		case <-served:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	addrRe := regexp.MustCompile(`vllmctl gateway on (http://\S+)`)
	var gw string
	poll := func(what string, f func() error) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		var err error
		for {
			if err = f(); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v\nserve stdout:\n%s\nserve stderr:\n%s", what, err, sout.String(), serr.String())
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case code := <-served:
				t.Fatalf("serve exited %d while waiting for %s\n%s\n%s", code, what, sout.String(), serr.String())
			}
		}
	}
	poll("the gateway's address", func() error {
		m := addrRe.FindStringSubmatch(sout.String())
		if m == nil {
			return fmt.Errorf("not printed yet")
		}
		gw = m[1]
		return nil
	})
	complete := func() error {
		body := `{"model":"Qwen/Qwen3-8B","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`
		resp, err := http.Post(gw+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"choices"`) {
			return fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		return nil
	}
	poll("a completion through the gateway and the port-forward", complete)
	routeRe := regexp.MustCompile(`msg=route profile=medium where="kubernetes \S+ default/medium:8000" via=http://127\.0\.0\.1:\d+`)
	if !routeRe.MatchString(serr.String()) {
		t.Errorf("serve's log lacks the route of medium through the cluster (%s)\n%s", routeRe, serr.String())
	}

	// The pod goes; the Deployment makes another.
	pods, err := c.Client.CoreV1().Pods("default").List(setup, metav1.ListOptions{LabelSelector: "vllmctl.dev/profile=medium"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of medium: %v (%v)", pods, err)
	}
	old := pods.Items[0].Name
	zero := int64(0)
	if err := c.Client.CoreV1().Pods("default").Delete(setup, old, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	poll("the old pod gone and a new one running", func() error {
		pods, err := c.Client.CoreV1().Pods("default").List(setup, metav1.ListOptions{LabelSelector: "vllmctl.dev/profile=medium"})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 || pods.Items[0].Name == old || pods.Items[0].Status.Phase != corev1.PodRunning {
			return fmt.Errorf("%d pod(s)", len(pods.Items))
		}
		return nil
	})
	poll("a completion after the pod was replaced", complete)

	// down: the route goes.
	if code, out, errs := kube("down", "medium"); code != 0 {
		t.Fatalf("down medium: exit %d\n%s\n%s", code, out, errs)
	}
	poll("medium unrouted after down", func() error {
		resp, err := http.Get(gw + "/v1/models")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), "Qwen/Qwen3-8B") {
			return fmt.Errorf("/v1/models still lists it: %s", b)
		}
		return nil
	})
}

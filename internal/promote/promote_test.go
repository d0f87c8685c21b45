package promote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/archive"
	"github.com/vllmctl/vllmctl/internal/bench"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/sim"
)

// TestMain doubles the test binary as vllm-sim (the profiles' environment
// sets PROMOTE_TEST_SIM=1: the process runtime runs them with it) and as a
// promoting vllmctl that kills itself at a step (PROMOTE_TEST_CHILD).
func TestMain(m *testing.M) {
	if os.Getenv("PROMOTE_TEST_SIM") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		os.Exit(sim.Main(ctx, os.Args[1:], env, os.Stdout, os.Stderr))
	}
	if dir := os.Getenv("PROMOTE_TEST_CHILD"); dir != "" {
		os.Exit(child(dir, os.Getenv("PROMOTE_TEST_KILL_AT")))
	}
	os.Exit(m.Run())
}

const live = "--sim-ttft=40ms --sim-itl=10ms"

// project writes a project whose profiles are alternatives (one
// container_name, one port), each with its latency model, and loads it.
func setup(t *testing.T, models map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	port := freeport.T(t)
	for name, m := range models {
		write(t, dir, "configs/docker/profiles/"+name+".yml", fmt.Sprintf(`services:
  vllm-%s:
    image: vllm/vllm-openai:v0.11.0
    container_name: vllm-main
    ipc: host
    command: ["--model", "Qwen/Qwen3-0.6B", "--served-model-name", "%s", "--max-model-len", "4096", "--enforce-eager", "--api-key", "${VLLM_API_KEY}"]
    environment:
      PROMOTE_TEST_SIM: "1"
      VLLM_SIM_ARGS: "--sim-phase-time=0 --sim-load-time=0 --disable-uvicorn-access-log %s"
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
volumes: {hf: {}}
`, name, name, m, port))
	}
	write(t, dir, ".env", "VLLM_API_KEY=sk-promote-test\n")
	write(t, dir, "vllmctl.yaml", "gpus: [{name: H100 80GB, count: 1}]\n")
	return dir
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// env is a loaded project with its deployer and promote options.
type env struct {
	d *deploy.Deployer
	o Options
}

func load(dir string, candidate string) (env, error) {
	p, err := project.Load(context.Background(), project.Options{Root: dir, Environ: map[string]string{}})
	if err != nil {
		return env{}, err
	}
	proc := &runtime.Process{StateDir: deploy.New(p, nil).Store.Dir}
	d := deploy.NewLocated(p, deploy.NewRuntimes(proc, false, proc.StateDir))
	inv, _ := gpu.Declare("H100 80GB", "", 1)
	exe, _ := os.Executable()
	o := Options{Candidate: candidate, Live: "live", Gate: DefaultGate(),
		Up:       deploy.UpOptions{Simulate: true, SimBinary: exe, Inventory: inv, Completion: true, StallOther: time.Minute, StallLoading: time.Minute},
		Bench:    bench.Store{Dir: filepath.Join(d.Store.Dir, "bench")},
		Archive:  archive.Store{Root: dir, Dir: "archived"},
		Journals: Journals{Dir: filepath.Join(d.Store.Dir, "promote")}}
	o.Gate.Duration = 2 * time.Second
	return env{d, o}, nil
}

func mustLoad(t *testing.T, dir, candidate string) env {
	t.Helper()
	e, err := load(dir, candidate)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// deployLive deploys the live profile and removes every engine at the end.
func deployLive(t *testing.T, dir string) {
	t.Helper()
	e := mustLoad(t, dir, "")
	if _, err := e.d.Up(context.Background(), "live", e.o.Up); err != nil {
		t.Fatalf("up live: %v", err)
	}
	t.Cleanup(func() {
		for _, pr := range []string{"live", "worse", "better"} {
			if e, err := load(dir, ""); err == nil {
				_ = e.d.Down(context.Background(), pr, deploy.DownOptions{GPURelease: time.Nanosecond})
			}
			_ = e
		}
	})
}

// runs returns the profiles whose engines run.
func runs(t *testing.T, dir string) []string {
	t.Helper()
	e := mustLoad(t, dir, "")
	st, err := e.d.Status(context.Background(), []string{"live", "worse", "better"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range st {
		if s.State == "running" {
			out = append(out, s.Profile)
		}
	}
	return out
}

func archived(t *testing.T, dir string) []archive.Entry {
	t.Helper()
	list, err := archive.Store{Root: dir, Dir: "archived"}.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []archive.Entry
	for _, a := range list {
		out = append(out, a.Entries...)
	}
	return out
}

func steps(j *Journal) string {
	var b strings.Builder
	for _, s := range j.Steps {
		fmt.Fprintf(&b, "%s %s: %s\n", s.Name, s.Status, s.Detail)
	}
	return b.String()
}

func TestPromoteRollsBackAWorseCandidate(t *testing.T) {
	t.Parallel()
	dir := setup(t, map[string]string{"live": live, "worse": "--sim-ttft=80ms --sim-itl=20ms"})
	deployLive(t, dir)
	e := mustLoad(t, dir, "worse")
	j, err := Run(context.Background(), e.d, e.o)
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected\n%s", err, steps(j))
	}
	if j.Outcome != RolledBack || j.Running != "live" || !strings.Contains(j.Reason, "output tokens/s at concurrency 4 worse") {
		t.Errorf("journal: outcome %q, running %q, reason %q\n%s", j.Outcome, j.Running, j.Reason, steps(j))
	}
	if got := runs(t, dir); len(got) != 1 || got[0] != "live" {
		t.Errorf("running: %v, want live only", got)
	}
	a := archived(t, dir)
	if len(a) != 1 || a[0].Original != "configs/docker/profiles/worse.yml" || !strings.HasPrefix(a[0].Reason, "rejected: output tokens/s") {
		t.Errorf("archived: %+v, want worse.yml rejected with the measured reason", a)
	}
	// Every deploy step is in the history, with the promotion as trigger.
	h, _ := e.d.History("")
	var trig []string
	for _, r := range h {
		if strings.HasPrefix(r.Trigger, "promote "+j.ID) {
			trig = append(trig, r.Profile+" "+string(r.Outcome))
		}
	}
	if strings.Join(trig, ",") != "live ready,worse ready" { // newest first
		t.Errorf("history records of the promotion: %v", trig)
	}
	saved, err := e.o.Journals.Load(j.ID)
	if err != nil || saved.Outcome != RolledBack || saved.LiveBench == "" || saved.CandidateBench == "" {
		t.Errorf("stored journal: %+v, %v", saved, err)
	}
}

func TestPromoteKeepsABetterCandidate(t *testing.T) {
	t.Parallel()
	dir := setup(t, map[string]string{"live": live, "better": "--sim-ttft=20ms --sim-itl=5ms"})
	deployLive(t, dir)
	e := mustLoad(t, dir, "better")
	j, err := Run(context.Background(), e.d, e.o)
	if err != nil || j.Outcome != Kept || j.Running != "better" {
		t.Fatalf("err %v, outcome %q, running %q\n%s", err, j.Outcome, j.Running, steps(j))
	}
	if got := runs(t, dir); len(got) != 1 || got[0] != "better" {
		t.Errorf("running: %v, want better only", got)
	}
	a := archived(t, dir)
	if len(a) != 1 || a[0].Original != "configs/docker/profiles/live.yml" || a[0].Reason != "superseded by better" {
		t.Errorf("archived: %+v, want live.yml superseded by better", a)
	}
	if _, err := os.Stat(filepath.Join(dir, "configs/docker/profiles/live.yml")); !os.IsNotExist(err) {
		t.Errorf("live.yml is still in place: %v", err)
	}
}

// child promotes and SIGKILLs itself at a step: "apply" is inside deploy,
// after the live profile was stopped and before the candidate started.
func child(dir, killAt string) int {
	e, err := load(dir, "better")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	kill := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	e.o.Up.OnEvent = func(ev deploy.Event) {
		if killAt == "apply" && ev.Kind == "apply" && ev.Profile == "better" {
			kill()
		}
	}
	e.o.Hook = func(step, status string) {
		if step+" "+status == killAt {
			kill()
		}
	}
	_, err = Run(context.Background(), e.d, e.o)
	fmt.Fprintln(os.Stderr, "not killed:", err)
	return 3
}

// A promotion killed with SIGKILL leaves the live profile or the candidate
// running once Recover has run, and the journal says which.
func TestPromoteKilledIsRecovered(t *testing.T) {
	for _, c := range []struct {
		killAt, before, after string
	}{
		{"apply", "", "live"},                      // between stopping live and starting the candidate: neither runs
		{"bench-candidate done", "better", "live"}, // the candidate runs, undecided: back to live
		{"decide done", "better", "better"},        // kept, not yet archived
	} {
		t.Run(strings.ReplaceAll(c.killAt, " ", "-"), func(t *testing.T) {
			t.Parallel()
			dir := setup(t, map[string]string{"live": live, "better": "--sim-ttft=20ms --sim-itl=5ms"})
			deployLive(t, dir)
			exe, _ := os.Executable()
			cmd := exec.Command(exe, "-test.run=XXX")
			cmd.Env = append(os.Environ(), "PROMOTE_TEST_CHILD="+dir, "PROMOTE_TEST_KILL_AT="+c.killAt)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
			}
			if got := strings.Join(runs(t, dir), ","); got != c.before {
				t.Errorf("running right after the kill: %q, want %q", got, c.before)
			}
			e := mustLoad(t, dir, "better")
			// Every journal a reader can see while Recover works is unfinished
			// or recovered: never a decision's outcome that Recover then changes.
			var seen []Outcome
			e.o.OnStep = func(j *Journal, _ Step) { seen = append(seen, j.Outcome) }
			js, err := Recover(context.Background(), e.d, e.o)
			if err != nil || len(js) != 1 {
				t.Fatalf("Recover: %d journals, %v", len(js), err)
			}
			if len(seen) == 0 {
				t.Fatal("Recover wrote no step")
			}
			for _, o := range seen {
				if o != "" && o != Recovered {
					t.Errorf("a saved journal said outcome %q during the recovery: %v", o, seen)
				}
			}
			j := js[0]
			if j.Outcome != Recovered || j.Running != c.after {
				t.Errorf("journal: outcome %q, running %q, want recovered, %s\n%s", j.Outcome, j.Running, c.after, steps(j))
			}
			if got := strings.Join(runs(t, dir), ","); got != c.after {
				t.Errorf("running after recovery: %q, want %q", got, c.after)
			}
			if again, err := Recover(context.Background(), e.d, e.o); err != nil || len(again) != 0 {
				t.Errorf("a second Recover: %d journals, %v; want nothing left to do", len(again), err)
			}
		})
	}
}

// A promotion whose vllmctl still runs (it holds the journal's lock) is in
// progress: Recover leaves it alone, and recovers it once the lock is free
// (its vllmctl died).
func TestRecoverLeavesAPromotionInProgress(t *testing.T) {
	dir := setup(t, map[string]string{"live": live, "better": "--sim-ttft=20ms --sim-itl=5ms"})
	deployLive(t, dir)
	e := mustLoad(t, dir, "better")
	j := &Journal{ID: "20261207T000000Z-better", Candidate: "better", Live: "live", Started: time.Now().UTC(), Running: "live",
		Steps: []Step{{Time: time.Now().UTC(), Name: "bench-live", Status: "started"}}}
	if err := e.o.Journals.Save(j); err != nil {
		t.Fatal(err)
	}
	release, err := e.o.Journals.Hold(j.ID)
	if err != nil {
		t.Fatal(err)
	}
	js, err := Recover(context.Background(), e.d, e.o)
	if err != nil || len(js) != 0 {
		t.Fatalf("Recover took %d journals (%v) of a promotion in progress, want none", len(js), err)
	}
	if saved, err := e.o.Journals.Load(j.ID); err != nil || saved.Outcome != "" || len(saved.Steps) != 1 {
		t.Fatalf("the journal in progress was changed: %+v, %v", saved, err)
	}
	release()
	js, err = Recover(context.Background(), e.d, e.o)
	if err != nil || len(js) != 1 || js[0].Outcome != Recovered || js[0].Running != "live" {
		t.Fatalf("after its vllmctl is gone: %d journals, %v", len(js), err)
	}
}

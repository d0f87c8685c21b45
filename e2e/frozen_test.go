package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// poll checks cond every 100 ms until it holds or timeout passes.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("%s: not within %s\n%s", what, timeout, detail())
		case <-tick.C:
		}
	}
}

// frozenWatchdog: a fast cycle, hung after three; the warm-up stays at its
// default (2m), so the freeze happens inside it, the case that waited 150 s.
const frozenWatchdog = "    x-vllmctl:\n      watchdog: {interval: 500ms, completion_deadline: 2s, hung_after: 3}\n"

// engineID names the running engine of profile a: the pid on the process
// runtime, the container id on docker.
func engineID(t *testing.T, p *proj) string {
	t.Helper()
	if p.v.name == "process" {
		b, err := os.ReadFile(filepath.Join(p.dir, ".vllmctl", "process", "a.json"))
		if err != nil {
			t.Fatalf("process state of a: %v", err)
		}
		var st struct {
			PID int `json:"pid"`
		}
		if err := json.Unmarshal(b, &st); err != nil || st.PID <= 0 {
			t.Fatalf("process state of a: %v: %s", err, b)
		}
		return fmt.Sprint(st.PID)
	}
	out, err := exec.Command("docker", "ps", "-q", "--no-trunc", "--filter", "label=dev.vllmctl.project="+p.name,
		"--filter", "label=dev.vllmctl.profile=a").Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) != 1 {
		t.Fatalf("container of a: %v %q", err, out)
	}
	return ids[0]
}

// TestFrozenEngineRestarted: an engine that answered and then freezes
// (SIGSTOP on the process runtime, docker pause on docker) is seen
// unanswered, then hung after hung_after cycles, and restarted by serve's
// watchdog; a new engine answers through the gateway again.
func TestFrozenEngineRestarted(t *testing.T) {
	cases := []struct {
		v      variant
		freeze func(t *testing.T, id string) (thaw func())
	}{
		{variants[2], func(t *testing.T, id string) func() {
			var pid int
			fmt.Sscan(id, &pid)
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatalf("kill -STOP %d: %v", pid, err)
			}
			return func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
		}},
		{variants[1], func(t *testing.T, id string) func() {
			if out, err := exec.Command("docker", "pause", id).CombinedOutput(); err != nil {
				t.Fatalf("docker pause: %v: %s", err, out)
			}
			return func() { _ = exec.Command("docker", "unpause", id).Run() }
		}},
	}
	for _, c := range cases {
		t.Run(c.v.name, func(t *testing.T) {
			p := newProject(t, c.v, goodArgs, "", frozenWatchdog)
			p.must(0, "up", "a")
			gw := freeport.T(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			args := append([]string{"-C", p.dir, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", gw), "--refresh", "300ms",
				"--simulate", "--sim-binary", simBin}, c.v.args...)
			cmd := exec.CommandContext(ctx, vllmctl, args...)
			cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
			logs := &syncBuf{}
			cmd.Stdout, cmd.Stderr = logs, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = cmd.Wait() }()
			ask := func() bool {
				client := &http.Client{Timeout: 3 * time.Second}
				resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", gw), "application/json",
					strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`))
				if err != nil {
					return false
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode == 200 && strings.Contains(string(body), `"completion_tokens":2`)
			}
			poll(t, 60*time.Second, "the watchdog sees a healthy", func() bool { return strings.Contains(logs.String(), "to=healthy") }, logs.String)
			poll(t, 30*time.Second, "the gateway answers for a", ask, logs.String)

			before := engineID(t, p)
			mark := len(logs.String())
			thaw := c.freeze(t, before)
			t.Cleanup(thaw) // runs before down: a stopped process could not take its SIGTERM
			frozeAt := time.Now()
			after := func() string { return logs.String()[mark:] }
			poll(t, 60*time.Second, "hung and restarted", func() bool { return strings.Contains(after(), "to=hung action=restart") }, after)
			hungAt := time.Now()
			poll(t, 90*time.Second, "a answers through the gateway again", ask, after)
			backAt := time.Now()

			// healthy → unanswered → hung, never back to warm-up on the way.
			tail := after()
			hung := strings.Index(tail, "to=hung action=restart")
			unanswered := strings.Index(tail, "to=unanswered")
			if unanswered < 0 || unanswered > hung {
				t.Errorf("no unanswered state before hung:\n%s", tail)
			}
			if w := strings.Index(tail, "to=warmup"); w >= 0 && w < hung {
				t.Errorf("the frozen engine went to warm-up before hung:\n%s", tail)
			}
			if !strings.Contains(tail, "/health failed 3 cycles in a row after answering") {
				t.Errorf("the hung reason does not count 3 cycles:\n%s", tail)
			}
			if now := engineID(t, p); now == before {
				t.Errorf("the engine answering after the restart is the frozen one (%s)", now)
			}
			out := p.must(0, "status", "a")
			contains(t, out, "running", "ready")
			hist, _ := os.ReadFile(filepath.Join(p.dir, ".vllmctl", "history.json"))
			if !strings.Contains(string(hist), `"trigger": "watchdog: /health failed 3 cycles in a row after answering`) {
				t.Errorf("the restart is not in the history:\n%s", hist)
			}
			t.Logf("%s: freeze → hung and restart decided %s, → answering again through the gateway %s",
				c.v.name, hungAt.Sub(frozeAt).Round(10*time.Millisecond), backAt.Sub(frozeAt).Round(10*time.Millisecond))
		})
	}
}

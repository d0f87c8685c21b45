package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type journal struct {
	ID      string `json:"id"`
	Running string `json:"running"`
	Outcome string `json:"outcome"`
	Steps   []struct {
		Name   string `json:"step"`
		Status string `json:"status"`
	} `json:"steps"`
}

// journals reads the project's promotion journals.
func journals(t *testing.T, dir string) []journal {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, ".vllmctl", "promote", "*.json"))
	var out []journal
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var j journal
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("%s: %v\n%s", p, err, b)
		}
		out = append(out, j)
	}
	return out
}

func (j journal) reached(step, status string) bool {
	for _, s := range j.Steps {
		if s.Name == step && s.Status == status {
			return true
		}
	}
	return false
}

// TestPromoteKilledMidSwapGuardRestoresLive: promote is SIGKILLed right
// after it starts swapping (live stopped or stopping, the candidate not yet
// ready) and nothing else is run: its recovery guard, a process of its own
// waiting on the promotion's lock, deploys the live profile again and ends
// the journal ("recovered", live runs). A promotion that ends normally
// leaves its guard nothing to do.
func TestPromoteKilledMidSwapGuardRestoresLive(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	release := adoptOrphans(t)
	defer release()
	cname := "    container_name: " + p.name + "-main\n"
	p.write("configs/docker/profiles/live.yml", altProfile("live", "tiny", p.port, "0.5", cname))
	p.write("configs/docker/profiles/next.yml", altProfile("next", "tinyn", p.port, "0.5", cname))
	p.write("gate.yaml", "concurrency: [2]\nduration: 1s\n")
	defer p.run("down", "next")
	defer p.run("down", "live")
	rt := []string{"--runtime", "process", "--simulate", "--sim-binary", simBin}
	if out, code := runIn(p.dir, append([]string{"up", "live", "--progress", "plain"}, rt...)...); code != 0 {
		t.Fatalf("up live: exit %d\n%s", code, out)
	}

	s := start(t, p.dir, nil, append([]string{"promote", "next", "--over", "live", "--gate", filepath.Join(p.dir, "gate.yaml")}, rt...)...)
	var j journal
	if !waitFor(2*time.Minute, func() bool {
		js := journals(t, p.dir)
		if len(js) == 1 {
			j = js[0]
		}
		select {
		case <-s.done:
			return true // ended before the swap: reported below
		default:
		}
		return j.reached("deploy-candidate", "started")
	}) || !j.reached("deploy-candidate", "started") {
		s.stop()
		t.Fatalf("promote never started the swap:\n%s", s.out.String())
	}
	if !j.reached("guard", "done") {
		t.Fatalf("the swap started without a recovery guard: %+v", j.Steps)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done

	// Nothing else runs: the guard finishes the promotion.
	if !waitFor(2*time.Minute, func() bool {
		js := journals(t, p.dir)
		return len(js) == 1 && js[0].Outcome != ""
	}) {
		b, _ := os.ReadFile(filepath.Join(p.dir, ".vllmctl", "promote", j.ID+".guard.log"))
		t.Fatalf("no outcome 2 min after the kill; promote said:\n%s\nthe guard's log:\n%s", s.out.String(), b)
	}
	j = journals(t, p.dir)[0]
	if j.Outcome != "recovered" || j.Running != "live" {
		t.Fatalf("journal after the kill: outcome %q, running %q, want recovered with live running: %+v", j.Outcome, j.Running, j.Steps)
	}
	if st, health, _ := statusOf(t, p, "live"); st != "running" || health != "ready" {
		b, _ := os.ReadFile(filepath.Join(p.dir, ".vllmctl", "promote", j.ID+".guard.log"))
		t.Fatalf("live after the guard: %s %s\njournal %+v\nguard log:\n%s\npromote:\n%s", st, health, j.Steps, b, s.out.String())
	}
	if st, _, _ := statusOf(t, p, "next"); st == "running" {
		t.Fatalf("next still runs beside live")
	}
	log, _ := os.ReadFile(filepath.Join(p.dir, ".vllmctl", "promote", j.ID+".guard.log"))
	if !strings.Contains(string(log), "promotion "+j.ID+" interrupted: recovered, live runs") {
		t.Errorf("the guard's log:\n%s", log)
	}

	// A promotion that ends: its guard exits with nothing to do. (The
	// recovery archived next as rejected: it is written again.)
	p.write("configs/docker/profiles/next.yml", altProfile("next", "tinyn", p.port, "0.5", cname))
	out, code := runIn(p.dir, append([]string{"promote", "next", "--over", "live", "--gate", filepath.Join(p.dir, "gate.yaml")}, rt...)...)
	if code != 0 && code != 1 {
		t.Fatalf("promote: exit %d\n%s", code, out)
	}
	var done journal
	for _, x := range journals(t, p.dir) {
		if x.ID != j.ID {
			done = x
		}
	}
	if done.Outcome != "kept" && done.Outcome != "rolled back" {
		t.Fatalf("second promotion: %+v\n%s", done, out)
	}
	glog := filepath.Join(p.dir, ".vllmctl", "promote", done.ID+".guard.log")
	if !waitFor(time.Minute, func() bool {
		b, _ := os.ReadFile(glog)
		return strings.Contains(string(b), "promotion "+done.ID+" ended ("+done.Outcome+"): nothing to do")
	}) {
		b, _ := os.ReadFile(glog)
		t.Errorf("the guard of a promotion that ended: %s", b)
	}
}

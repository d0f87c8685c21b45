package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChaosCorruptProcessState damages the process runtime's record of
// a running engine (.vllmctl/process/a.json: its pid). status, down and up
// must say the file is damaged, name it and the fix, and keep it; none may
// take the profile for "not deployed" and start a second engine beside the
// first, which nothing would then list or stop.
func TestChaosCorruptProcessState(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	p.must(0, "up", "a")
	path := filepath.Join(p.dir, ".vllmctl", "process", "a.json")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first := enginesIn(p.dir)
	if len(first) != 1 {
		t.Fatalf("after up, engines %v", first)
	}
	defer func() {
		_ = os.WriteFile(path, good, 0o644)
		p.run("down", "a")
		for _, pid := range enginesIn(p.dir) { // what the bug leaves behind
			if proc, err := os.FindProcess(pid); err == nil {
				_ = proc.Kill()
			}
		}
	}()
	bad := good[:len(good)/2]
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status", "a"}, {"down", "a"}, upArgs("a")} {
		out, code := runIn(p.dir, args...)
		if code == 0 || !strings.Contains(out, path) {
			t.Errorf("REGRESSION (internal/runtime Process.read): a damaged %s is read as \"no engine\": vllmctl %s exits %d without naming the file or the fix:\n%s",
				path, args[0], code, out)
		}
		if now, err := os.ReadFile(path); err != nil || string(now) != string(bad) {
			t.Errorf("REGRESSION (internal/runtime): vllmctl %s replaced or removed the damaged %s without a word", args[0], path)
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if pids := enginesIn(p.dir); len(pids) != 1 || pids[0] != first[0] {
			t.Fatalf("REGRESSION (internal/runtime Process.Apply/Remove): after vllmctl %s with a damaged %s, engines %v run (was %v): the first is no longer listed or stopped by anything",
				args[0], path, pids, first)
		}
	}
}

// TestChaosCorruptLock: a lock file that holds no pid (cut, or
// overwritten) is taken over by up without a word. up must say which file it
// found damaged and that it took it over (or refuse, naming it and the fix).
func TestChaosCorruptLock(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	path := filepath.Join(p.dir, ".vllmctl", "lock")
	p.write(".vllmctl/lock", "garbage, not a pid\n")
	out, code := runIn(p.dir, upArgs("a")...)
	if !strings.Contains(out, path) {
		t.Fatalf("REGRESSION (internal/state Store.Lock): a damaged lock %s (no pid in it) is deleted silently: up exited %d and never named it:\n%s", path, code, out)
	}
}

// TestChaosCorruptDeployRecord damages the stored command of the last
// good deploy (.vllmctl/deploys/process/<id>.json), which a rollback replays,
// then deploys a config that fails with --rollback-on-failure: up must say
// the rollback cannot read that file, name it and the fix, and keep it.
func TestChaosCorruptDeployRecord(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	p.must(0, "up", "a")
	h := history(t, p, "a")
	path := filepath.Join(p.dir, ".vllmctl", "deploys", "process", h[len(h)-1].ID+".json")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the deploy's stored command: %v", err)
	}
	bad := good[:len(good)/2]
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	p.write("configs/docker/profiles/a.yml", fmt.Sprintf(profileTmpl, "", strings.Replace(goodArgs, "Qwen/Qwen3-0.6B", "Qwen/Qwen3-32B", 1), p.port, ""))
	out, code := runIn(p.dir, append(upArgs("a"), "--skip-plan", "--rollback-on-failure")...)
	if code == 0 || !strings.Contains(out, path) || !strings.Contains(out, "damaged") {
		t.Errorf("REGRESSION (internal/deploy Up rollback: loadProcessSpec's error is dropped, up.go 'back.Services, _ ='): a rollback from a damaged %s: exit %d, the output does not name the file and the fix:\n%s", path, code, out)
	}
	if now, err := os.ReadFile(path); err != nil || string(now) != string(bad) {
		t.Errorf("the damaged %s was changed or removed (%v)", path, err)
	}
}

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestChaosKillDuringUp SIGKILLs `vllmctl up` (process runtime, vllm-sim) at
// random moments of its run, VLLMCTL_CHAOS_KILLS times (default 12). After
// each kill: the lock is gone or names the killed pid, which no longer runs;
// every engine running in the project is the one the runtime recorded (so
// status lists it), or none runs; and the next `up` deploys the profile
// ready, with exactly one engine. The outcomes are logged (RELIABILITY.md).
func TestChaosKillDuringUp(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	release := adoptOrphans(t)
	defer release()
	defer p.run("down", "a") // before release: the adopted engines are reaped
	kills := 12
	if n, err := strconv.Atoi(os.Getenv("VLLMCTL_CHAOS_KILLS")); err == nil && n > 0 {
		kills = n
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d, %d kills", seed, kills)

	// How long a whole up takes: kills land anywhere in it.
	t0 := time.Now()
	if s := start(t, p.dir, nil, upArgs("a")...); !s.wait(2*time.Minute) || s.code != 0 {
		s.stop()
		t.Fatalf("up: exit %d\n%s", s.code, s.out.String())
	}
	full := time.Since(t0)
	t.Logf("a whole up takes %s", full.Round(time.Millisecond))
	lockPath := filepath.Join(p.dir, ".vllmctl", "lock")
	outcomes := map[string]int{}
	for i := range kills {
		delay := time.Duration(rng.Int64N(int64(full)))
		s := start(t, p.dir, nil, upArgs("a")...)
		killed := !s.wait(delay)
		if killed {
			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.done
		}
		pid := s.cmd.Process.Pid
		// The lock: released, or stale with the killed pid.
		lock := "released"
		if b, err := os.ReadFile(lockPath); err == nil {
			holder, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if holder != pid || pidAlive(holder) {
				t.Fatalf("kill %d at %s: the lock holds %q, want the killed vllmctl's pid %d (no longer running)", i, delay, b, pid)
			}
			lock = "stale"
		}
		// Every engine is accounted for.
		engines := enginesIn(p.dir)
		rec := recordedPID(t, p.dir, "a")
		for _, e := range engines {
			if e != rec {
				t.Fatalf("kill %d at %s: engine pid %d runs in the project, but the runtime recorded pid %d: nothing lists it (status, down cannot stop it)\n%s",
					i, delay, e, rec, s.out.String())
			}
		}
		// A kill during up's stop of the previous engine leaves that engine
		// exiting (it got SIGTERM): the two views agree once it is gone.
		var st string
		if !waitFor(15*time.Second, func() bool {
			engines = enginesIn(p.dir)
			st, _, _ = statusOf(t, p, "a")
			return (len(engines) > 0) == (st == "running")
		}) {
			t.Fatalf("kill %d at %s: %d engine(s) run, status says %q", i, delay, len(engines), st)
		}
		what := "finished"
		if killed {
			what = "killed"
		}
		outcome := fmt.Sprintf("%s, lock %s, %d engine(s) running", what, lock, len(engines))
		outcomes[outcome]++
		t.Logf("kill %2d at %6s (%s): %s, status %q", i, delay.Round(time.Millisecond), lastLine(s.out.String()), outcome, st)
		// The next up works.
		next := start(t, p.dir, nil, upArgs("a")...)
		if !next.wait(2*time.Minute) || next.code != 0 {
			next.stop()
			t.Fatalf("kill %d at %s: the next up: exit %d\n%s", i, delay, next.code, next.out.String())
		}
		if !strings.Contains(next.out.String(), "a ready in") {
			t.Fatalf("kill %d: the next up did not report ready:\n%s", i, next.out.String())
		}
		if !waitFor(15*time.Second, func() bool { return len(enginesIn(p.dir)) == 1 }) {
			t.Fatalf("kill %d: after the next up, engines %v run in the project, want one", i, enginesIn(p.dir))
		}
		if got := enginesIn(p.dir); !slices.Contains(got, recordedPID(t, p.dir, "a")) {
			t.Fatalf("kill %d: after the next up the engine %v is not the recorded one (%d)", i, got, recordedPID(t, p.dir, "a"))
		}
		if _, err := os.Stat(lockPath); err == nil {
			t.Fatalf("kill %d: the next up left the lock behind", i)
		}
	}
	var keys []string
	for k := range outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("outcome: %d × %s", outcomes[k], k)
	}
	p.must(0, "down", "a")
	if !waitFor(15*time.Second, func() bool { return len(enginesIn(p.dir)) == 0 }) {
		t.Fatalf("after down, engines %v still run", enginesIn(p.dir))
	}
}

// lastLine is the last non-empty line of a command's output: where it was killed.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if l == "" {
		return "no output"
	}
	if len(l) > 60 {
		l = l[:60] + "…"
	}
	return l
}

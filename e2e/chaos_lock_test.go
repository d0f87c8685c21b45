package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChaosTwoUpsAtOnce starts two `up` of one profile at the same moment,
// five times: one deploys (exit 0, ready), the other refuses at once with
// exit 1, naming the lock and the pid that holds it.
func TestChaosTwoUpsAtOnce(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	lockPath := filepath.Join(p.dir, ".vllmctl", "lock")
	for round := range 5 {
		a := start(t, p.dir, nil, upArgs("a")...)
		b := start(t, p.dir, nil, upArgs("a")...)
		if !a.wait(2*time.Minute) || !b.wait(2*time.Minute) {
			a.stop()
			b.stop()
			t.Fatalf("round %d: an up did not end", round)
		}
		win, lose := a, b
		if a.code != 0 {
			win, lose = b, a
		}
		if win.code != 0 || !strings.Contains(win.out.String(), "a ready in") {
			t.Fatalf("round %d: no up deployed: exits %d and %d\n%s\n---\n%s", round, a.code, b.code, a.out.String(), b.out.String())
		}
		if lose.code != 1 {
			t.Fatalf("round %d: the second up exited %d, want 1 (refused)\n%s", round, lose.code, lose.out.String())
		}
		want := fmt.Sprintf("another vllmctl is deploying this project (pid %d holds %s)", win.cmd.Process.Pid, lockPath)
		if !strings.Contains(lose.out.String(), want) {
			t.Fatalf("round %d: the refused up does not say %q:\n%s", round, want, lose.out.String())
		}
		if _, err := os.Stat(lockPath); err == nil {
			t.Fatalf("round %d: the lock is left behind", round)
		}
		t.Logf("round %d: pid %d deployed, pid %d refused: %s", round, win.cmd.Process.Pid, lose.cmd.Process.Pid, lastLine(lose.out.String()))
	}
}

// TestChaosStaleLockStampede: a lock left by a vllmctl that died, and six
// `up` of one profile started at once. The stale lock is taken over by one of
// them; the other five refuse, naming that one's pid.
func TestChaosStaleLockStampede(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	lockPath := filepath.Join(p.dir, ".vllmctl", "lock")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		p.write(".vllmctl/lock", fmt.Sprintf("%d\n", dead.Process.Pid))
		var ups []*started
		for range 6 {
			ups = append(ups, start(t, p.dir, nil, upArgs("a")...))
		}
		winners := 0
		var pids []int
		for _, u := range ups {
			if !u.wait(2 * time.Minute) {
				for _, v := range ups {
					v.stop()
				}
				t.Fatalf("round %d: an up did not end", round)
			}
			if u.code == 0 {
				winners++
				pids = append(pids, u.cmd.Process.Pid)
			}
		}
		if winners != 1 {
			var outs []string
			for _, u := range ups {
				outs = append(outs, fmt.Sprintf("pid %d exit %d: %s", u.cmd.Process.Pid, u.code, lastLine(u.out.String())))
			}
			t.Fatalf("round %d: %d ups deployed at once over a stale lock (pids %v), want 1: two vllmctl held the lock together\n%s",
				round, winners, pids, strings.Join(outs, "\n"))
		}
		for _, u := range ups {
			if u.code != 0 && (u.code != 1 || !strings.Contains(u.out.String(), fmt.Sprintf("(pid %d holds %s)", pids[0], lockPath))) {
				t.Fatalf("round %d: pid %d exited %d without naming the holder %d:\n%s", round, u.cmd.Process.Pid, u.code, pids[0], u.out.String())
			}
		}
		t.Logf("round %d: pid %d took the stale lock over, 5 refused", round, pids[0])
	}
}

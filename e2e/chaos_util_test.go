package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the chaos tests (RELIABILITY.md): polling with a deadline, the
// engines a project runs on this host, and vllmctl started in the background.

// waitFor polls cond every 50 ms until it holds or d passes; false on timeout.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
}

// procStat is a process as /proc/PID/stat tells it.
type procStat struct {
	pid, ppid int
	comm      string
	state     byte // R, S, Z, ...
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return procStat{}, false
	}
	f := strings.Fields(string(b[close+1:]))
	if len(f) < 2 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return procStat{pid: pid, ppid: ppid, comm: string(b[open+1 : close]), state: f[0][0]}, true
}

// enginesIn lists the live (not zombie) vllm-sim processes whose working
// folder is dir: the process runtime starts a project's engines there.
func enginesIn(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.state == 'Z' || !strings.HasPrefix(st.comm, "vllm-sim") {
			continue
		}
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && cwd == dir {
			out = append(out, pid)
		}
	}
	return out
}

// pidAlive: the process exists and is not a zombie.
func pidAlive(pid int) bool {
	st, ok := readStat(pid)
	return ok && st.state != 'Z'
}

// recordedPID is the engine pid the process runtime recorded for a profile; 0 when none.
func recordedPID(t *testing.T, dir, profile string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".vllmctl", "process", profile+".json"))
	if err != nil {
		return 0
	}
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s/.vllmctl/process/%s.json: %v\n%s", dir, profile, err, b)
	}
	return st.PID
}

// adoptOrphans makes this test process the reaper of the engines whose
// vllmctl dies (PR_SET_CHILD_SUBREAPER), as init is on a host: PID 1 of this
// container reaps nothing, and a zombie still answers kill(pid, 0). Zombie
// vllm-sim children are reaped until the returned func, called once the
// project's engines are down, turns it off.
func adoptOrphans(t *testing.T) func() {
	t.Helper()
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0); e != 0 {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", e)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	reap := func() {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if st, ok := readStat(pid); ok && st.ppid == os.Getpid() && st.state == 'Z' && strings.HasPrefix(st.comm, "vllm-sim") {
				var ws syscall.WaitStatus
				_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			}
		}
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				reap()
				return
			case <-tick.C:
				reap()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, 36, 0, 0)
	}
}

// started is vllmctl running in the background.
type started struct {
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
	code int
}

// start runs vllmctl in dir with extra environment, in the background.
func start(t *testing.T, dir string, env []string, args ...string) *started {
	t.Helper()
	cmd := exec.Command(vllmctl, append([]string{"-C", dir}, args...)...)
	cmd.Env = append(append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1"), env...)
	s := &started{cmd: cmd, out: &syncBuf{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		s.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			s.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				s.code = -int(ws.Signal())
			}
		}
		close(s.done)
	}()
	return s
}

// wait waits up to d for the command to end; false when it still runs.
func (s *started) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
		return true
	case <-t.C:
		return false
	}
}

// stop kills the command and waits for it.
func (s *started) stop() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// upArgs are the arguments of `up` on the process runtime with the simulator.
func upArgs(profiles ...string) []string {
	return append(append([]string{"up"}, profiles...), "--runtime", "process", "--simulate", "--sim-binary", simBin, "--progress", "plain")
}

//go:build !windows

package runtime

import (
	"os/exec"
	"sync"
	"syscall"
)

var dead sync.Map // pids reaped by this process: kill(pid, 0) could hit a reused pid

func markDead(pid int) { dead.Store(pid, true) }

// detach starts the engine in its own process group so it outlives vllmctl
// and can be stopped as a whole.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func alive(pid int) bool {
	if _, ok := dead.Load(pid); ok || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

func terminate(pid int, force bool) {
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	if syscall.Kill(-pid, sig) != nil {
		_ = syscall.Kill(pid, sig)
	}
}

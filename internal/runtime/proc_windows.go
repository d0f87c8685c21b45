//go:build windows

package runtime

import (
	"os"
	"os/exec"
	"sync"
)

var dead sync.Map

func markDead(pid int) { dead.Store(pid, true) }

func detach(cmd *exec.Cmd) {}

func alive(pid int) bool {
	if _, ok := dead.Load(pid); ok || pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid) // on Windows this opens the process: it fails once it is gone
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

func terminate(pid int, force bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

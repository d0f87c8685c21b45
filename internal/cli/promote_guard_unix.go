//go:build !windows

package cli

import (
	"os/exec"
	"syscall"
)

// detachGuard puts the guard in a session of its own: a signal to the
// promoting vllmctl's process group or a closed terminal does not reach it.
func detachGuard(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

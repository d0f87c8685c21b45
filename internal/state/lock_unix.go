//go:build !windows

package state

import (
	"errors"
	"os"
	"syscall"
)

var errHeld = errors.New("held")

func tryLock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errHeld
		default:
			return err
		}
	}
}

// waitLock blocks until f is locked.
func waitLock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// release removes the file while still holding it, then unlocks: a vllmctl
// that opened it before the removal finds it gone once it locks, and opens
// the path again.
func release(f *os.File, path string) {
	os.Remove(path)
	unlockFile(f)
	f.Close()
}

func retryOpen(error) bool { return false }

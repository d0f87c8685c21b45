//go:build windows

package state

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

var errHeld = errors.New("held")

// lockOffset: the byte locked lies far past the pid, so a refused vllmctl can
// still read the pid (Windows locks are mandatory for the range they cover).
const lockOffset = 1 << 30

func tryLock(f *os.File) error {
	ol := windows.Overlapped{Offset: lockOffset}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errHeld
	}
	return err
}

// waitLock blocks until f is locked (LockFileEx without
// LOCKFILE_FAIL_IMMEDIATELY on a synchronous handle waits).
func waitLock(f *os.File) error {
	ol := windows.Overlapped{Offset: lockOffset}
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol)
}

func unlockFile(f *os.File) {
	ol := windows.Overlapped{Offset: lockOffset}
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}

// release unlocks and closes, then removes the file. Windows refuses to
// remove a file another process has open, so a vllmctl that opened it in
// between keeps it and locks it; the removal then fails and is left alone.
func release(f *os.File, path string) {
	unlockFile(f)
	f.Close()
	os.Remove(path)
}

// retryOpen: a file being removed by its last holder cannot be opened for a
// moment (ERROR_ACCESS_DENIED while delete is pending).
func retryOpen(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}

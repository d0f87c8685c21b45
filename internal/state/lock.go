package state

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrLocked is returned when another vllmctl holds the project's lock.
var ErrLocked = errors.New("another vllmctl is deploying this project")

// holderWait bounds how long a refused vllmctl waits for the holder's pid to
// appear in the lock (the holder writes it right after locking).
const holderWait = 2 * time.Second

// Lock takes the project lock; the returned func releases it.
//
// The lock is an operating-system lock on the file .vllmctl/lock (flock on
// Linux and macOS, LockFileEx on Windows), which the kernel releases when its
// process dies: a lock left by a killed vllmctl is free again at once, and two
// vllmctl that find it stale at the same moment cannot both take it. The file
// holds the holder's pid, for the message of the one refused. A lock file
// that holds something else than a pid (cut, or overwritten by hand) is
// refused with ErrCorrupt, naming it.
func (s Store) Lock() (func(), error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(s.Dir, "lock")
	for range 8 {
		f, err := openLocked(path, false)
		if errors.Is(err, errHeld) {
			return nil, refusal(path)
		}
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return nil, err
		}
		// Locked, but the file may have been removed by its last holder
		// between our open and our lock: then it locks nothing.
		if fi, err := f.Stat(); err != nil || !samePath(fi, path) {
			unlockFile(f)
			f.Close()
			continue
		}
		b, err := io.ReadAll(f)
		if err != nil {
			unlockFile(f)
			f.Close()
			return nil, fmt.Errorf("the lock %s: %w", path, err)
		}
		if text := strings.TrimSpace(string(b)); text != "" {
			if pid, perr := strconv.Atoi(text); perr != nil || pid <= 0 {
				unlockFile(f)
				f.Close()
				return nil, fmt.Errorf("%w: the lock %s is damaged (it holds %q, not a pid): if no vllmctl is running, remove it and run the command again", ErrCorrupt, path, truncateText(text, 40))
			}
			// A pid whose process no longer holds the lock: stale, taken over.
		}
		if err := writePid(f); err != nil {
			unlockFile(f)
			f.Close()
			return nil, fmt.Errorf("the lock %s: %w", path, err)
		}
		return func() { release(f, path) }, nil
	}
	return nil, fmt.Errorf("%w (%s changed hands too often to be taken: run the command again)", ErrLocked, path)
}

// refusal names the holder: its pid once it has written it (polled for
// holderWait, as it writes right after locking).
func refusal(path string) error {
	deadline := time.Now().Add(holderWait)
	for {
		b, _ := os.ReadFile(path)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 && processAlive(pid) {
			return fmt.Errorf("%w (pid %d holds %s)", ErrLocked, pid, path)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (%s is held by a process that has not written its pid)", ErrLocked, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(fmt.Appendf(nil, "%d\n", os.Getpid()), 0); err != nil {
		return err
	}
	return f.Sync()
}

func samePath(fi os.FileInfo, path string) bool {
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}

// Hold takes an operating-system lock on path (created if missing) until
// release is called or the process dies, for work that must not run twice at
// once and whose interruption another process must be able to detect (a
// promotion in flight). ErrLocked when another process holds it. The file is
// kept: it holds nothing.
func Hold(path string) (release func(), err error) { return hold(path, false) }

// HoldWait is Hold that waits for the lock as long as it takes, for a
// process whose work starts when another's ends or dies (the recovery guard
// of a promotion). The wait cannot be cancelled: run it in a process of its
// own.
func HoldWait(path string) (release func(), err error) { return hold(path, true) }

// hold takes the lock on path for Hold (wait false) and HoldWait.
func hold(path string, wait bool) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := openLocked(path, wait)
	for i := 0; wait && errors.Is(err, errRetry) && i < 8; i++ {
		f, err = openLocked(path, wait) // a file being removed: open it again
	}
	if errors.Is(err, errHeld) || errors.Is(err, errRetry) {
		return nil, fmt.Errorf("%w (%s is held)", ErrLocked, path)
	}
	if err != nil {
		return nil, err
	}
	return func() { unlockFile(f); f.Close() }, nil
}

// errRetry: the file could not be opened for a moment (Windows, while its
// last holder removes it).
var errRetry = errors.New("the lock is being removed")

// openLocked opens (creating) path and locks it, waiting for the holder
// when wait is set, else errHeld when another process holds it; errRetry
// when it is being removed.
func openLocked(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if retryOpen(err) {
			return nil, errRetry
		}
		return nil, fmt.Errorf("the lock %s: %w", path, err)
	}
	lock := tryLock
	if wait {
		lock = waitLock
	}
	if err := lock(f); err != nil {
		f.Close()
		if errors.Is(err, errHeld) {
			return nil, errHeld
		}
		return nil, fmt.Errorf("the lock %s: %w", path, err)
	}
	return f, nil
}

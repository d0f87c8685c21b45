package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLockHistoryLastGood(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	unlock, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	// a lock left by a process that is gone is taken over
	if err := os.WriteFile(filepath.Join(s.Dir, "lock"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unlock, err = s.Lock()
	if err != nil {
		t.Fatalf("stale lock not taken over: %v", err)
	}
	unlock()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for i, out := range []string{"ready", "failed", "deploying"} {
		if err := s.Put(Record{ID: NewID(t0.Add(time.Duration(i)*time.Minute), "abcdef0123"), Profile: "a", Time: t0.Add(time.Duration(i) * time.Minute), Outcome: out}); err != nil {
			t.Fatal(err)
		}
	}
	good, ok := s.LastGood("a", "")
	if !ok || good.Outcome != "ready" || good.ID != "20261127T090000.000Z-abcdef01" {
		t.Fatalf("%+v", good)
	}
	last, _ := s.Last("a")
	last.Outcome = "ready"
	if err := s.Put(last); err != nil {
		t.Fatal(err)
	}
	h, _ := s.History("a")
	if len(h) != 3 || h[2].Outcome != "ready" {
		t.Fatalf("put did not replace: %+v", h)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, historyFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.History(""); err == nil {
		t.Fatal("a damaged history was accepted")
	}
}

package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/redact"
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
	for i, out := range []Outcome{Ready, Failed, Deploying} {
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

// TestNoSecretStored: with a redactor, no file the Store writes holds a secret
// in clear: the history masks it, replayed files hold ${NAME} references.
func TestNoSecretStored(t *testing.T) {
	red := redact.New()
	red.AddNamed("VLLM_API_KEY_A", "CANARY-key-a-0123456789")
	red.Add("hf_CANARYtoken0123456789")
	s := Store{Dir: t.TempDir(), Redact: red}
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	rec := Record{ID: NewID(t0, "abcdef0123"), Profile: "a", Time: t0, Outcome: "failed",
		Diagnosis: `401 with key "CANARY-key-a-0123456789" and token hf_CANARYtoken0123456789`}
	if err := s.Put(rec); err != nil {
		t.Fatal(err)
	}
	rel, err := s.SaveResolved("a", rec.ID, []byte("services:\n  a:\n    command: [--api-key=CANARY-key-a-0123456789]\n    environment: {HF_TOKEN: hf_CANARYtoken0123456789}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveProcessSpec(rec.ID, []byte(`[{"argv":["vllm","--api-key","CANARY-key-a-0123456789"]}]`)); err != nil {
		t.Fatal(err)
	}
	h, err := s.History("a")
	if err != nil || len(h) != 1 || h[0].Diagnosis != `401 with key "***" and token ***` {
		t.Fatalf("history: %+v %v", h, err)
	}
	resolved, _ := os.ReadFile(s.Abs(rel))
	if want := "services:\n  a:\n    command: [--api-key=${VLLM_API_KEY_A}]\n    environment: {HF_TOKEN: ***}\n"; string(resolved) != want {
		t.Fatalf("resolved:\n%s\nwant:\n%s", resolved, want)
	}
	spec, _ := s.ProcessSpec(rec.ID)
	if want := `[{"argv":["vllm","--api-key","${VLLM_API_KEY_A}"]}]`; string(spec) != want {
		t.Fatalf("process spec: %s", spec)
	}
	files := 0
	err = filepath.WalkDir(s.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if strings.Contains(string(b), "CANARY") {
			t.Errorf("%s holds a secret:\n%s", p, b)
		}
		return err
	})
	if err != nil || files != 3 {
		t.Fatalf("walked %d files: %v", files, err)
	}
}

// TestEnvironmentSecrets: with no redactor, the secret-named variables of the
// process environment are still never stored in clear.
func TestEnvironmentSecrets(t *testing.T) {
	t.Setenv("EXTRA_TOKEN", "CANARY-env-only-0123456789")
	s := Store{Dir: t.TempDir()}
	if err := s.SaveProcessSpec("x", []byte(`[{"env":["EXTRA_TOKEN=CANARY-env-only-0123456789"]}]`)); err != nil {
		t.Fatal(err)
	}
	b, _ := s.ProcessSpec("x")
	if want := `[{"env":["EXTRA_TOKEN=${EXTRA_TOKEN}"]}]`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	if err := s.Put(Record{ID: "1", Profile: "a", Diagnosis: "bad token CANARY-env-only-0123456789"}); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.History("a"); len(h) != 1 || h[0].Diagnosis != "bad token ***" {
		t.Fatalf("history: %+v", h)
	}
}

// TestLockStampede: a stale lock (a dead pid in it) and eight takers at once:
// exactly one gets it, the others are refused naming a pid; once released,
// the lock file is gone and the next taker gets it.
func TestLockStampede(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	path := filepath.Join(s.Dir, "lock")
	for round := range 5 {
		if err := os.WriteFile(path, []byte("999999999\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		type result struct {
			unlock func()
			err    error
		}
		results := make(chan result, 8)
		startGate := make(chan struct{})
		for range 8 {
			go func() {
				<-startGate
				u, err := s.Lock()
				results <- result{u, err}
			}()
		}
		close(startGate)
		var unlocks []func()
		for range 8 {
			r := <-results
			switch {
			case r.err == nil:
				unlocks = append(unlocks, r.unlock)
			case errors.Is(r.err, ErrLocked) && strings.Contains(r.err.Error(), "holds "+path):
			default:
				t.Fatalf("round %d: a refused taker says %v", round, r.err)
			}
		}
		if len(unlocks) != 1 {
			t.Fatalf("round %d: %d takers hold the lock at once, want 1", round, len(unlocks))
		}
		unlocks[0]()
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("round %d: the released lock is left behind (%v)", round, err)
		}
	}
}

// TestLockDamaged: a lock that holds no pid is refused, named, and kept.
func TestLockDamaged(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	path := filepath.Join(s.Dir, "lock")
	if err := os.WriteFile(path, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Lock()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("a damaged lock: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "garbage\n" {
		t.Fatalf("the damaged lock was changed: %q", b)
	}
}

// TestHold: a held lock refuses a second holder until released.
func TestHold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.lock")
	release, err := Hold(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Hold(path); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("a second holder: %v", err)
	}
	release()
	release, err = Hold(path)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release()
}

// HoldWait waits for the holder to let go, and then holds the lock itself.
func TestHoldWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	release, err := Hold(path)
	if err != nil {
		t.Fatal(err)
	}
	var released atomic.Bool
	got := make(chan bool)
	go func() {
		rel, err := HoldWait(path)
		if err != nil {
			t.Error(err)
			got <- false
			return
		}
		got <- released.Load() // it must not have had the lock before the release
		<-got
		rel()
		got <- true
	}()
	released.Store(true)
	release()
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("HoldWait took the lock while another held it")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HoldWait did not take the lock within 10 s of its release")
	}
	if _, err := Hold(path); !errors.Is(err, ErrLocked) {
		t.Errorf("while the waiter holds it, Hold: %v, want ErrLocked", err)
	}
	got <- true
	<-got
	rel, err := Hold(path)
	if err != nil {
		t.Fatalf("after the waiter's release: %v", err)
	}
	rel()
}

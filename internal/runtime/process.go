package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Process runs engines as child processes, for hosts without Docker. State
// lives in <state>/process/<profile>.json and logs in <state>/logs/<profile>.log.
type Process struct {
	StateDir string

	mu       sync.Mutex
	children map[int]chan Exit // processes started by this vllmctl: their exits
}

type procState struct {
	PID      int       `json:"pid"`
	Profile  string    `json:"profile"`
	Service  string    `json:"service"`
	Project  string    `json:"project"`
	Hash     string    `json:"config_hash"`
	DeployID string    `json:"deploy_id"`
	Port     int       `json:"host_port"`
	Started  time.Time `json:"started_at"`
	Log      string    `json:"log"`
}

// Name implements Backend.
func (p *Process) Name() string { return "process" }

func (p *Process) statePath(profile string) string {
	return filepath.Join(p.StateDir, "process", profile+".json")
}

// LogPath is where a profile's engine writes its output.
func (p *Process) LogPath(profile string) string {
	return filepath.Join(p.StateDir, "logs", profile+".log")
}

// Commands implements Backend.
func (p *Process) Commands(spec Spec) [][]string {
	var out [][]string
	for _, s := range spec.Services {
		out = append(out, s.Argv)
	}
	return out
}

// Apply implements Backend: stops the profile's previous process, then starts
// the new one in its own process group, its output appended to the log.
func (p *Process) Apply(ctx context.Context, spec Spec) error {
	if err := p.Remove(ctx, spec); errors.Is(err, state.ErrCorrupt) {
		return err // a second engine beside one nothing lists would be lost
	}
	if len(spec.Services) == 0 {
		return errors.New("process runtime: the profile has no engine to run")
	}
	s := spec.Services[0]
	if err := os.MkdirAll(filepath.Dir(p.LogPath(spec.Profile)), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(p.LogPath(spec.Profile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = spec.Root
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(s.Argv[0]), err)
	}
	st := procState{PID: cmd.Process.Pid, Profile: spec.Profile, Service: s.Service, Project: spec.Project, Hash: spec.Hash,
		DeployID: spec.DeployID, Port: s.Port, Started: time.Now().UTC(), Log: p.LogPath(spec.Profile)}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := atomicfile.WriteFile(p.statePath(spec.Profile), b, 0o644); err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	ch := make(chan Exit, 1)
	p.mu.Lock()
	if p.children == nil {
		p.children = map[int]chan Exit{}
	}
	p.children[st.PID] = ch
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		markDead(st.PID)
		ch <- Exit{Code: code}
	}()
	return nil
}

// read returns the record of a profile's process: ok false when there is none;
// an error (wrapping state.ErrCorrupt) when it cannot be read, which callers
// must not take for "no engine": the engine may run.
func (p *Process) read(profile string) (procState, bool, error) {
	path := p.statePath(profile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return procState{}, false, nil
	}
	var st procState
	if err == nil {
		err = json.Unmarshal(b, &st)
		if err == nil && st.PID <= 0 {
			err = errors.New("no pid in it")
		}
	}
	if err != nil {
		return procState{}, false, fmt.Errorf("%s: %w: %v (the process runtime's record of %s: if its engine still runs, stop it by its pid, then move the file away and deploy again; nothing was deleted)", path, state.ErrCorrupt, err, profile)
	}
	return st, true, nil
}

// Remove implements Backend: SIGTERM to the process group, SIGKILL after 10 s.
func (p *Process) Remove(ctx context.Context, spec Spec) error {
	st, ok, err := p.read(spec.Profile)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	if alive(st.PID) {
		terminate(st.PID, false)
		deadline := time.Now().Add(10 * time.Second)
		for alive(st.PID) && time.Now().Before(deadline) {
			p.reap(st.PID, 50*time.Millisecond)
		}
		if alive(st.PID) {
			terminate(st.PID, true)
			p.reap(st.PID, time.Second)
		}
	}
	return os.Remove(p.statePath(spec.Profile))
}

// reap waits for a child of this process to exit, up to d.
func (p *Process) reap(pid int, d time.Duration) {
	p.mu.Lock()
	ch := p.children[pid]
	p.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	if ch == nil {
		<-t.C
		return
	}
	select {
	case x := <-ch:
		ch <- x // keep it for Exits
		p.mu.Lock()
		delete(p.children, pid)
		p.mu.Unlock()
		markDead(pid)
	case <-t.C:
	}
}

// List implements Backend.
func (p *Process) List(ctx context.Context, project, profile string) ([]Instance, error) {
	files, _ := filepath.Glob(filepath.Join(p.StateDir, "process", "*.json"))
	sort.Strings(files)
	var out []Instance
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if profile != "" && name != profile {
			continue
		}
		st, ok, err := p.read(name)
		if err != nil {
			return nil, err
		}
		if !ok || (project != "" && st.Project != project) {
			continue
		}
		state := Exited
		if alive(st.PID) {
			state = Running
		}
		out = append(out, Instance{ID: fmt.Sprint(st.PID), Name: fmt.Sprintf("%s (pid %d)", st.Service, st.PID), Profile: st.Profile,
			Service: st.Service, Hash: st.Hash, State: state, StartedAt: st.Started, HostPort: st.Port, Runtime: "process"})
	}
	return out, nil
}

// Logs implements Backend by reading (and following) the log file.
func (p *Process) Logs(ctx context.Context, inst Instance, follow bool, since time.Time) (io.ReadCloser, error) {
	f, err := os.Open(p.LogPath(inst.Profile))
	if err != nil {
		return nil, err
	}
	if !follow {
		return f, nil
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				if _, werr := pw.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err == io.EOF {
				select {
				case <-ctx.Done():
					pw.CloseWithError(ctx.Err())
					return
				case <-time.After(50 * time.Millisecond): // poll the growing file
				}
				continue
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr, nil
}

// Exits implements Backend: exact for children of this process, by polling otherwise.
func (p *Process) Exits(ctx context.Context, inst Instance) <-chan Exit {
	out := make(chan Exit, 1)
	var pid int
	fmt.Sscan(inst.ID, &pid)
	p.mu.Lock()
	ch := p.children[pid]
	p.mu.Unlock()
	go func() {
		if ch != nil {
			select {
			case x := <-ch:
				ch <- x
				out <- x
			case <-ctx.Done():
			}
			return
		}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !alive(pid) {
					out <- Exit{Code: -1}
					return
				}
			}
		}
	}()
	return out
}

package deploy

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
)

// located is a project whose profile a was deployed on a "process" backend,
// looked at by a Deployer whose default runtime is docker.
func locatedProject(t *testing.T) (up *Deployer, look *Deployer, proc, dock *fakeBackend, opened *[]state.Where) {
	t.Helper()
	p := testProject(t, map[string]string{
		"a": profileYAML("a", 5001, "0", 0.5, ""),
		"b": profileYAML("b", 5002, "1", 0.5, ""),
	}, "")
	proc, dock = newFake("process"), newFake("docker (compose 2.99.0)")
	t.Cleanup(proc.close)
	t.Cleanup(dock.close)
	opened = &[]state.Where{}
	rt := &Runtimes{Default: dock, Open: func(_ context.Context, w state.Where) (runtime.Backend, error) {
		*opened = append(*opened, w)
		if w.Kind == state.KindProcess {
			return proc, nil
		}
		return nil, errors.New("no such runtime here")
	}}
	return New(p, proc), NewLocated(p, rt), proc, dock, opened
}

// TestFoundWhereRecorded: status, logs and down find a profile on the
// runtime its record names, not on the default one; the record says where.
func TestFoundWhereRecorded(t *testing.T) {
	up, look, proc, dock, opened := locatedProject(t)
	ctx := t.Context()
	res, err := up.Up(ctx, "a", quiet(UpOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Record; r.Kind != state.KindProcess || r.Spec != "deploys/process/"+r.ID+".json" {
		t.Fatalf("record: %+v", r)
	}
	dock.Apply(ctx, runtime.Spec{Profile: "b", DeployID: "x"}) // b runs on docker, with no record
	sts, err := look.Status(ctx, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ProfileStatus{}
	for _, s := range sts {
		got[s.Profile] = s
	}
	if got["a"].State != "running" || got["a"].Runtime != "process" || got["b"].State != "running" || got["b"].Runtime != "docker" {
		t.Fatalf("status: %+v", sts)
	}
	if len(*opened) != 1 || (*opened)[0].Kind != state.KindProcess {
		t.Fatalf("opened %v", *opened)
	}
	// serve's Observe reads an instance's log from the backend that lists it
	insts, _, err := look.Instances(ctx)
	if err != nil || len(insts) != 2 {
		t.Fatalf("instances: %v %+v", err, insts)
	}
	for _, in := range insts {
		want := map[string]runtime.Backend{"a": proc, "b": dock}[in.Profile]
		if be, err := look.Runtimes.ForInstance(ctx, in); err != nil || be != want {
			t.Errorf("ForInstance(%s on %s): %v, %v", in.Profile, in.Runtime, be, err)
		}
	}
	var lines []string
	if err := look.Logs(ctx, "a", false, time.Time{}, func(l string) { lines = append(lines, l) }); err != nil || len(lines) != 1 {
		t.Fatalf("logs: %v %q", err, lines)
	}
	if err := look.Down(ctx, "a", DownOptions{}); err != nil {
		t.Fatal(err)
	}
	if proc.running("a") || !dock.running("b") {
		t.Fatalf("down a: process a %v, docker b %v", proc.running("a"), dock.running("b"))
	}
	err = look.Logs(ctx, "a", false, time.Time{}, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "not deployed on the process runtime of its last deploy") {
		t.Fatalf("logs after down: %v", err)
	}
	// A record on a runtime that cannot be reached: status says so for that profile.
	r := res.Record
	r.ID, r.Kind, r.Compose, r.Runtime, r.Time = state.NewID(time.Now(), "ff"), state.KindDocker, state.ComposeV1, "docker (docker-compose 1.29.2)", time.Now().UTC()
	if err := up.Store.Put(r); err != nil {
		t.Fatal(err)
	}
	sts, err = look.Status(ctx, []string{"a"}, nil, 0)
	if err != nil || sts[0].State != "unknown" || !strings.Contains(sts[0].Error, "docker (docker-compose) runtime it was deployed on is not available") {
		t.Fatalf("unreachable: %v %+v", err, sts)
	}
}

// TestReplay: the watchdog's restart runs the recorded deploy again on its
// runtime with its stored command; a missing command or a damaged history is
// an error naming the file and the fix.
func TestReplay(t *testing.T) {
	up, look, proc, _, _ := locatedProject(t)
	ctx := t.Context()
	first, err := up.Up(ctx, "a", quiet(UpOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	argv := proc.specs["a"].Services[0].Argv
	proc.Remove(ctx, runtime.Spec{Profile: "a"}) // it vanished
	res, err := look.Replay(ctx, "a", quiet(UpOptions{Trigger: "watchdog: vanished"}))
	if err != nil {
		t.Fatal(err)
	}
	if !proc.running("a") || strings.Join(proc.specs["a"].Services[0].Argv, " ") != strings.Join(argv, " ") {
		t.Fatalf("replayed %v, want %v", proc.specs["a"].Services, argv)
	}
	if r := res.Record; r.ReplayOf != first.Record.ID || r.Trigger != "watchdog: vanished" || r.Outcome != "ready" || r.Kind != state.KindProcess || r.Spec != first.Record.Spec {
		t.Fatalf("replay record: %+v", r)
	}
	// the stored command is gone
	if err := os.Remove(up.Store.Abs(first.Record.Spec)); err != nil {
		t.Fatal(err)
	}
	_, err = look.Replay(ctx, "a", quiet(UpOptions{}))
	if err == nil || !strings.Contains(err.Error(), up.Store.Abs(first.Record.Spec)) || !strings.Contains(err.Error(), "vllmctl up") {
		t.Fatalf("missing command: %v", err)
	}
	// no record
	_, err = look.Replay(ctx, "b", quiet(UpOptions{}))
	if !errors.Is(err, ErrNoRecord) || !strings.Contains(err.Error(), up.Store.HistoryPath()) || !strings.Contains(err.Error(), "vllmctl up b") {
		t.Fatalf("no record: %v", err)
	}
	// a damaged history: named, kept
	if err := os.WriteFile(up.Store.HistoryPath(), []byte(`[{"id": "x"`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"replay": func() error { _, err := look.Replay(ctx, "a", quiet(UpOptions{})); return err }(),
		"status": func() error { _, err := look.Status(ctx, nil, nil, 0); return err }(),
		"down":   look.Down(ctx, "a", DownOptions{}),
		"logs":   look.Logs(ctx, "a", false, time.Time{}, func(string) {}),
	} {
		if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), up.Store.HistoryPath()) || !strings.Contains(err.Error(), "move it away") {
			t.Errorf("%s with a damaged history: %v", name, err)
		}
	}
	if b, _ := os.ReadFile(up.Store.HistoryPath()); string(b) != `[{"id": "x"` {
		t.Errorf("the damaged history was changed: %q", b)
	}
}

// TestReplayDockerFile: a docker deploy is replayed from its resolved file;
// a missing file is named.
func TestReplayDockerFile(t *testing.T) {
	d := altProject(t)
	ctx := t.Context()
	first, err := d.Up(ctx, "a", quiet(UpOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	f := fakeOf(d)
	f.Remove(ctx, runtime.Spec{Profile: "a"})
	if _, err := d.Replay(ctx, "a", quiet(UpOptions{})); err != nil || !f.running("a") || f.specs["a"].File != d.Store.Abs(first.Record.File) {
		t.Fatalf("replay: %v, spec %+v", err, f.specs["a"])
	}
	if err := os.Remove(d.Store.Abs(first.Record.File)); err != nil {
		t.Fatal(err)
	}
	_, err = d.Replay(ctx, "a", quiet(UpOptions{}))
	if err == nil || !strings.Contains(err.Error(), d.Store.Abs(first.Record.File)) || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("missing resolved file: %v", err)
	}
}

// TestWhere: records of older versions are read from their runtime name.
func TestWhere(t *testing.T) {
	for name, want := range map[string]state.Where{
		"process":                        {Kind: state.KindProcess},
		"docker (compose 2.29.2)":        {Kind: state.KindDocker, Compose: state.ComposeV2},
		"docker (docker-compose 1.29.2)": {Kind: state.KindDocker, Compose: state.ComposeV1},
		"something else":                 {},
	} {
		if got := (state.Record{Runtime: name}).Where(); got != want {
			t.Errorf("%q: %+v, want %+v", name, got, want)
		}
	}
	if got := (state.Record{Runtime: "process", Kind: state.KindDocker, Compose: state.ComposeV1}).Where(); got != (state.Where{Kind: state.KindDocker, Compose: state.ComposeV1}) {
		t.Errorf("recorded kind not preferred: %+v", got)
	}
}

package deploy

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
)

// alternatives a and b share container_name vllm-main, port 5001 and GPU 0.
func altProject(t *testing.T) *Deployer {
	t.Helper()
	name := "    container_name: vllm-main\n"
	p := testProject(t, map[string]string{
		"a": profileYAML("a", 5001, "0", 0.5, name),
		"b": profileYAML("b", 5001, "0", 0.6, name),
	}, "")
	f := newFake("docker (compose 2.99.0)")
	t.Cleanup(f.close)
	return New(p, f)
}

func fakeOf(d *Deployer) *fakeBackend { return d.Backend.(*fakeBackend) }

// TestReplaceRefusedAskedDeclined: up b while its alternative a runs refuses
// without --replace and a terminal (naming a and the flag), asks with the
// reason when it can, and changes nothing when the answer is no.
func TestReplaceRefusedAskedDeclined(t *testing.T) {
	d := altProject(t)
	ctx := t.Context()
	if _, err := d.Up(ctx, "a", quiet(UpOptions{})); err != nil {
		t.Fatal(err)
	}
	_, err := d.Up(ctx, "b", quiet(UpOptions{}))
	if !errors.Is(err, ErrAlternativeRunning) {
		t.Fatalf("up b while a runs, no --replace, nobody to ask: %v", err)
	}
	for _, want := range []string{"b would replace a (shares container_name vllm-main)", "--replace", "running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	var asked []string
	_, err = d.Up(ctx, "b", quiet(UpOptions{Confirm: func(q string) (bool, error) { asked = append(asked, q); return false, nil }}))
	if !errors.Is(err, ErrDeclined) {
		t.Fatalf("declined: %v", err)
	}
	if len(asked) != 1 || asked[0] != "b replaces a (shares container_name vllm-main); continue? [y/N] " {
		t.Fatalf("question: %q", asked)
	}
	f := fakeOf(d)
	if !f.running("a") || f.running("b") {
		t.Fatalf("a refusal changed what runs: %v", f.log)
	}
	if h, _ := d.Store.History("b"); len(h) != 0 {
		t.Fatalf("a refused deploy was recorded: %+v", h)
	}
}

// TestReplaceConfirmed: with a yes (or --replace) a is stopped before b starts,
// and both are in the history.
func TestReplaceConfirmed(t *testing.T) {
	d := altProject(t)
	ctx := t.Context()
	if _, err := d.Up(ctx, "a", quiet(UpOptions{})); err != nil {
		t.Fatal(err)
	}
	res, err := d.Up(ctx, "b", quiet(UpOptions{Confirm: func(string) (bool, error) { return true, nil }}))
	if err != nil {
		t.Fatal(err)
	}
	f := fakeOf(d)
	if f.running("a") || !f.running("b") {
		t.Fatalf("after the replacement: a running %v, b running %v", f.running("a"), f.running("b"))
	}
	if i, j := slices.Index(f.log, "remove a"), slices.Index(f.log, "apply b"); i < 0 || j < 0 || i > j {
		t.Fatalf("a must be stopped before b starts: %v", f.log)
	}
	if len(res.Replaced) != 1 || res.Replaced[0].Profile != "a" || !slices.Equal(res.Record.Replaced, []string{"a"}) {
		t.Fatalf("result: %+v / record %+v", res.Replaced, res.Record)
	}
	ha, _ := d.Store.History("a")
	if last := ha[len(ha)-1]; last.Outcome != "replaced" || last.ReplacedBy != "b" || last.ReplayOf != ha[0].ID {
		t.Fatalf("a's history: %+v", ha)
	}
	// --replace: no question; a replaces b back.
	res, err = d.Up(ctx, "a", quiet(UpOptions{Replace: true}))
	if err != nil || !f.running("a") || f.running("b") || len(res.Replaced) != 1 || res.Replaced[0].Profile != "b" {
		t.Fatalf("up a --replace: %v %+v", err, res.Replaced)
	}
}

// TestReplacementFailsAlternativeBack: b does not become ready: it is removed
// and a is deployed again from its record, and the history says so.
func TestReplacementFailsAlternativeBack(t *testing.T) {
	d := altProject(t)
	ctx := t.Context()
	first, err := d.Up(ctx, "a", quiet(UpOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	f := fakeOf(d)
	f.fail["b"] = true
	var events []string
	res, err := d.Up(ctx, "b", quiet(UpOptions{Replace: true, OnEvent: func(e Event) { events = append(events, e.Message) }}))
	if !errors.Is(err, ErrEngine) {
		t.Fatalf("up b (fails): %v", err)
	}
	if !f.running("a") || f.running("b") {
		t.Fatalf("a must be back and b gone: a %v b %v (%v)", f.running("a"), f.running("b"), f.log)
	}
	if len(res.Restored) != 1 || res.Restored[0].Outcome != "ready" || res.Restored[0].ReplayOf != first.Record.ID || res.Restored[0].RollbackOf != res.Record.ID {
		t.Fatalf("restored: %+v", res.Restored)
	}
	if spec := f.specs["a"]; spec.DeployID != first.Record.ID || spec.File != d.Store.Abs(first.Record.File) {
		t.Fatalf("a was not deployed again from its record: %+v", spec)
	}
	if !slices.ContainsFunc(events, func(m string) bool { return strings.Contains(m, "bringing a back") }) {
		t.Errorf("no event says a is brought back: %q", events)
	}
	hb, _ := d.Store.History("b")
	ha, _ := d.Store.History("a")
	if hb[len(hb)-1].Outcome != "failed" || ha[len(ha)-1].Outcome != "ready" || ha[len(ha)-2].Outcome != "replaced" {
		t.Fatalf("history: a %+v\nb %+v", ha, hb)
	}
}

// TestLiveClashes: a port something else holds, a GPU whose running engines'
// shares plus the profile's exceed 1, a container name held by a container
// this project did not start: each refused with where and the fix, unless
// Force; alternatives being replaced are no clash.
func TestLiveClashes(t *testing.T) {
	p := testProject(t, map[string]string{
		"a": profileYAML("a", 5001, "0", 0.5, ""),
		"c": profileYAML("c", 5003, "0", 0.6, ""),
		"d": profileYAML("d", 5001, "1", 0.5, ""),
		"n": profileYAML("n", 5004, "2", 0.5, "    container_name: taken\n"),
	}, "")
	f := newFake("docker (compose 2.99.0)")
	t.Cleanup(f.close)
	d := New(p, f)
	ctx := t.Context()
	if _, err := d.Up(ctx, "a", quiet(UpOptions{})); err != nil {
		t.Fatal(err)
	}
	// GPU 0: a holds 0.50, c asks 0.60.
	_, err := d.Up(ctx, "c", quiet(UpOptions{}))
	if !errors.Is(err, ErrClash) || !strings.Contains(err.Error(), "GPU 0: the engines running on it hold a 0.50, and c asks 0.60: 1.10 in all") ||
		!strings.Contains(err.Error(), "configs/docker/profiles/c.yml:5:") || !strings.Contains(err.Error(), "vllmctl down a") {
		t.Fatalf("GPU clash: %v", err)
	}
	// port 5001: published by a, which runs
	_, err = d.Up(ctx, "d", quiet(UpOptions{}))
	if !errors.Is(err, ErrClash) || !strings.Contains(err.Error(), "host port 5001 is in use by profile a (running on the docker runtime)") {
		t.Fatalf("port held by a: %v", err)
	}
	// a port held by another program
	busy := func(_ string, port int) bool { return port == 5004 }
	f.names["taken"] = runtime.Holder{ID: "0123456789abcdef", Name: "taken", Image: "busybox", State: "exited"}
	_, err = d.Up(ctx, "n", quiet(UpOptions{PortBusy: busy}))
	for _, want := range []string{"configs/docker/profiles/n.yml:7:", "host port 5004 is already in use by a program that is not an engine of this project",
		"configs/docker/profiles/n.yml:5:", `container_name "taken" is taken by container 0123456789ab (image busybox, exited), which vllmctl did not start`, "--force deploys anyway"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("clash report lacks %q:\n%v", want, err)
		}
	}
	if !errors.Is(err, ErrClash) || f.running("n") {
		t.Fatalf("n deployed past its clashes: %v", err)
	}
	res, err := d.Up(ctx, "n", quiet(UpOptions{PortBusy: busy, Force: true}))
	if err != nil || len(res.Clashes) != 2 || !f.running("n") {
		t.Fatalf("--force: %v, %d clashes", err, len(res.Clashes))
	}
	// a redeploy of a running profile clashes with nothing of its own
	if _, err := d.Up(ctx, "a", quiet(UpOptions{PortBusy: func(_ string, port int) bool { return port == 5001 }})); err != nil {
		t.Fatalf("redeploy of a: %v", err)
	}
}

// TestAlternativeRules: the relations of check (container_name, group,
// alternatives naming a profile or a service), and together: overriding them.
func TestAlternativeRules(t *testing.T) {
	p := testProject(t, map[string]string{
		"a": profileYAML("a", 5001, "0", 0.4, "    x-vllmctl: {group: big}\n"),
		"b": profileYAML("b", 5002, "0", 0.4, "    x-vllmctl: {group: big}\n"),
		"c": profileYAML("c", 5003, "1", 0.4, "    x-vllmctl: {alternatives: [vllm-a]}\n"),
		"d": profileYAML("d", 5004, "1", 0.4, ""),
		"e": profileYAML("e", 5005, "1", 0.4, "    x-vllmctl: {group: big}\n"),
	}, "together: [[a, e]]\n")
	pr := func(n string) *project.Profile { x, _ := p.Profile(n); return x }
	cases := []struct{ a, b, want string }{
		{"a", "b", "same x-vllmctl.group big"},
		{"a", "c", "c lists a in x-vllmctl.alternatives"},
		{"c", "a", "c lists a in x-vllmctl.alternatives"},
		{"a", "d", ""},
		{"a", "e", ""}, // together: wins
	}
	for _, c := range cases {
		if got := alternativeReason(p, pr(c.a), pr(c.b)); got != c.want {
			t.Errorf("%s ~ %s: %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

// TestNoRecordNoReplace: an alternative that runs without a record could not
// be brought back: refused unless Force.
func TestNoRecordNoReplace(t *testing.T) {
	d := altProject(t)
	ctx := t.Context()
	if _, err := d.Up(ctx, "a", quiet(UpOptions{})); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(d.Store.HistoryPath()); err != nil {
		t.Fatal(err)
	}
	_, err := d.Up(ctx, "b", quiet(UpOptions{Replace: true}))
	if !errors.Is(err, ErrAlternativeRunning) || !strings.Contains(err.Error(), "no deploy of it is recorded") || !strings.Contains(err.Error(), "vllmctl down a") {
		t.Fatalf("%v", err)
	}
	if _, err := d.Up(ctx, "b", quiet(UpOptions{Replace: true, Force: true})); err != nil || fakeOf(d).running("a") {
		t.Fatalf("--force: %v", err)
	}
}

package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/kube"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/state"
)

// medKey is VLLM_API_KEY_MEDIUM of examples/project/.env.
const medKey = "demo-medium-key-0003"

// recordKube writes outcomes into the store up --target kubernetes keeps for
// a context and namespace, through the code up uses (kubeStore,
// writeKubeTarget, recordKubeOutcome). Its redactor is empty, as for a record
// written before the project knew a secret: history must mask it itself.
func recordKube(t *testing.T, p *project.Project, kubeContext, ns string, outcomes ...kube.Outcome) state.Store {
	t.Helper()
	f := targetFlags{target: "kubernetes", context: kubeContext}
	red := redact.New()
	store := kubeStore(&kubeTarget{p: p, ns: ns}, f, red)
	if err := writeKubeTarget(store, f, ns); err != nil {
		t.Fatal(err)
	}
	for _, o := range outcomes {
		if err := recordKubeOutcome(store, o, red); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

// lineWith returns the one output line holding every part ("" and an error
// when none or several do).
func lineWith(t *testing.T, out string, parts ...string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Errorf("want one line with %q, got %d:\n%s", parts, len(found), out)
		return ""
	}
	return found[0]
}

// TestHistoryKubernetes: history --target kubernetes shows the deploys up
// --target kubernetes recorded, newest first, with where each ran, the
// monitor's outcome, what a rollback restored (or that it did not become
// ready), secrets masked; --context, --namespace and PROFILE narrow it;
// -o json and yaml carry the same rows; the local history says how many
// deploys are on Kubernetes and how to see them.
func TestHistoryKubernetes(t *testing.T) {
	dir := t.TempDir()
	if err := copyTree(filepath.Join("..", "..", "examples", "project"), dir); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runIn(t, dir, "history")
	if code != 0 || !strings.Contains(out, "no deploys yet") || strings.Contains(out, "Kubernetes") {
		t.Fatalf("history of a new project: exit %d\n%s%s\nwant 'no deploys yet' and no hint", code, out, errOut)
	}
	out, _, _ = runIn(t, dir, "history", "--target", "kubernetes")
	if !strings.Contains(out, "no deploys on Kubernetes recorded: deploy with 'vllmctl up --target kubernetes'") {
		t.Errorf("history --target kubernetes with none recorded:\n%s", out)
	}

	p, err := project.Load(t.Context(), project.Options{Root: dir, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	crash := errors.New("medium: CrashLoopBackOff (pod medium-1): 401 for key " + medKey + "\n  fix: check the key")
	stalled := &kube.EngineFailure{Profile: "mini", Pod: "p", Result: monitor.Result{Outcome: monitor.Timeout, Diagnosis: "no progress for 10m0s while loading"}}
	store := recordKube(t, p, "kind-test", "vllm",
		kube.Outcome{Profile: "medium", Hash: "aaaa1111", Applied: testGood("aaaa1111")},
		kube.Outcome{Profile: "medium", Hash: "bbbb2222", Err: crash, Applied: testGood("bbbb2222"),
			RolledBack: &kube.Rollback{Hash: "aaaa1111", Source: kube.GoodFromState, Good: testGood("aaaa1111")}},
		kube.Outcome{Profile: "medium", Hash: "dddd4444", Err: crash, Applied: testGood("dddd4444"),
			RolledBack: &kube.Rollback{Hash: "aaaa1111", Source: kube.GoodFromCluster, Err: errors.New("medium: ImagePullBackOff")}},
		kube.Outcome{Profile: "mini", Hash: "cccc3333", Err: stalled})
	recordKube(t, p, "prod", "default", kube.Outcome{Profile: "mini", Hash: "eeee5555"})
	if b, err := os.ReadFile(store.HistoryPath()); err != nil || !strings.Contains(string(b), medKey) {
		t.Fatalf("the recorded history should hold the key in clear for this test (written with an empty redactor): %v\n%s", err, b)
	}

	out, errOut, code = runIn(t, dir, "history", "--target", "kubernetes")
	if code != 0 {
		t.Fatalf("history --target kubernetes: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, medKey) || !strings.Contains(out, "***") {
		t.Errorf("the API key is not masked:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "TIME") || !slices.Equal(strings.Fields(lines[0]), []string{"TIME", "PROFILE", "CONFIG", "RUNTIME", "WHERE", "OUTCOME", "TO", "READY", "DIAGNOSIS"}) {
		t.Fatalf("want a header with WHERE and 7 deploys:\n%s", out)
	}
	ready := lineWith(t, out, "medium", "aaaa1111", "  ready  ")
	readyTime := strings.Join(strings.Fields(ready)[:2], " ")
	lineWith(t, out, "medium", "bbbb2222", "kubernetes  kind-test/vllm", "  failed  ", "CrashLoopBackOff (pod medium-1): 401 for key ***")
	lineWith(t, out, "medium", "aaaa1111", "kind-test/vllm", "rolled-back", "restored aaaa1111 (ready "+readyTime+") after bbbb2222 failed")
	lineWith(t, out, "medium", "aaaa1111", "  failed  ", "rollback of dddd4444 to aaaa1111 (ready "+readyTime+") did not become ready: medium: ImagePullBackOff")
	lineWith(t, out, "mini", "cccc3333", "kind-test/vllm", "timeout", "no progress for 10m0s while loading")
	lineWith(t, out, "mini", "eeee5555", "prod/default", "  ready  ")
	if !strings.Contains(lines[1], "eeee5555") || !strings.Contains(lines[7], "aaaa1111") || !strings.Contains(lines[7], "  ready  ") {
		t.Errorf("want newest first (prod's deploy, then ..., the first ready one last):\n%s", out)
	}
	if strings.Contains(out, "fix:") {
		t.Errorf("a diagnosis shows its first line only:\n%s", out)
	}

	// narrowed
	out, _, _ = runIn(t, dir, "history", "--target", "kubernetes", "--context", "kind-test")
	if strings.Contains(out, "prod/default") || strings.Count(out, "kind-test/vllm") != 6 {
		t.Errorf("--context kind-test:\n%s", out)
	}
	out, _, _ = runIn(t, dir, "history", "mini", "--target", "kubernetes", "-n", "default")
	if strings.Count(strings.TrimSpace(out), "\n") != 1 || !strings.Contains(out, "eeee5555") {
		t.Errorf("history mini -n default: want prod's one deploy:\n%s", out)
	}
	out, _, code = runIn(t, dir, "history", "--target", "kubernetes", "--context", "nope")
	if code != 0 || !strings.Contains(out, "no deploys to context nope recorded on Kubernetes (recorded: kind-test/vllm, prod/default)") {
		t.Errorf("--context nope: exit %d\n%s", code, out)
	}

	// -o json and yaml
	out, _, code = runIn(t, dir, "history", "medium", "--target", "kubernetes", "-o", "json")
	var recs []map[string]any
	if err := json.Unmarshal([]byte(out), &recs); code != 0 || err != nil {
		t.Fatalf("-o json: exit %d, %v\n%s", code, err, out)
	}
	if len(recs) != 5 || strings.Contains(out, medKey) {
		t.Fatalf("-o json: want medium's 5 deploys, key masked:\n%s", out)
	}
	var back map[string]any
	for _, r := range recs {
		if r["context"] != "kind-test" || r["namespace"] != "vllm" || r["runtime"] != "kubernetes" {
			t.Errorf("-o json record without where it ran: %v", r)
		}
		if r["outcome"] == "rolled-back" {
			back = r
		}
	}
	if back == nil || back["config_hash"] != "aaaa1111" || back["rollback_of"] == "" ||
		!strings.HasPrefix(back["rollback"].(string), "restored aaaa1111 (ready ") {
		t.Errorf("-o json: the rolled-back record = %v", back)
	}
	out, _, code = runIn(t, dir, "history", "--target", "kubernetes", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "context: prod\n") || !strings.Contains(out, "rollback: restored aaaa1111") || strings.Contains(out, medKey) {
		t.Errorf("-o yaml: exit %d\n%s", code, out)
	}

	// the local history: its own deploys, and the hint
	out, _, _ = runIn(t, dir, "history")
	if !strings.Contains(out, "no local deploys yet\n7 deploys on Kubernetes: vllmctl history --target kubernetes\n") {
		t.Errorf("history with deploys on Kubernetes only:\n%s", out)
	}
	local := deploy.New(p, nil).Store
	now := time.Now()
	if err := local.Put(state.Record{ID: state.NewID(now, "ffff6666"), Profile: "mini", Time: now.UTC(), Hash: "ffff6666",
		Runtime: "process", Kind: state.KindProcess, Outcome: state.Ready, ReadySecs: 12.5}); err != nil {
		t.Fatal(err)
	}
	out, _, _ = runIn(t, dir, "history", "mini")
	if lineWith(t, out, "mini", "ffff6666", "process", "ready", "12.5s"); strings.Contains(out, "cccc3333") || strings.Contains(out, "eeee5555") ||
		!strings.HasSuffix(out, "\n2 deploys on Kubernetes: vllmctl history mini --target kubernetes\n") {
		t.Errorf("history mini: want the local deploy, then the hint for mini's 2 on Kubernetes:\n%s", out)
	}
	out, _, _ = runIn(t, dir, "history", "-o", "json")
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 1 || strings.Contains(out, "Kubernetes") {
		t.Errorf("history -o json: want the one local deploy and no hint (%v):\n%s", err, out)
	}

	// --context and --namespace need --target kubernetes
	for _, args := range [][]string{{"history", "--context", "prod"}, {"history", "-n", "vllm"}, {"history", "--target", "moon"}} {
		if _, errOut, code := runIn(t, dir, args...); code != ExitUsage {
			t.Errorf("%s: exit %d, want %d\n%s", args, code, ExitUsage, errOut)
		}
	}
}

package cli

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vllmctl/vllmctl/internal/kube"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/state"
)

func testGood(hash string) *kube.Good {
	d := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "medium"},
		"spec":     map[string]any{"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{kube.LabelHash: hash}}}}}}
	return &kube.Good{Profile: "medium", Hash: hash, Objects: []*unstructured.Unstructured{d}}
}

// TestRecordKubeOutcome: up --target kubernetes records each engine's deploy
// with its manifest; a failure rolled back gets a rolled-back record naming
// it, one whose rollback did not become ready a failed one; the last good
// manifest is the last ready deploy's, read back from its file.
func TestRecordKubeOutcome(t *testing.T) {
	store := state.Store{Dir: t.TempDir()}
	red := redact.New()
	if got, err := lastGoodManifest(store, "medium"); got != nil || err != nil {
		t.Fatalf("lastGoodManifest of an empty history = %v, %v; want none", got, err)
	}
	if err := recordKubeOutcome(store, kube.Outcome{Profile: "medium", Hash: "aaaa1111", Applied: testGood("aaaa1111")}, red); err != nil {
		t.Fatal(err)
	}
	fail := errors.New("medium: FailedScheduling (pod p): 0/1 nodes are available: 1 Insufficient nvidia.com/gpu\n  fix: lower it")
	if err := recordKubeOutcome(store, kube.Outcome{Profile: "medium", Hash: "bbbb2222", Err: fail, Applied: testGood("bbbb2222"),
		RolledBack: &kube.Rollback{Hash: "aaaa1111", Source: kube.GoodFromCluster, Good: testGood("aaaa1111")}}, red); err != nil {
		t.Fatal(err)
	}
	hist, err := store.History("medium")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 {
		t.Fatalf("history = %+v, want 3 records", hist)
	}
	ready, failed, back := hist[0], hist[1], hist[2]
	if ready.Outcome != state.Ready || failed.Outcome != state.Failed || !strings.Contains(failed.Diagnosis, "FailedScheduling") || strings.Contains(failed.Diagnosis, "fix:") {
		t.Errorf("records = %+v, %+v: want ready, then failed with the diagnosis's first line", ready, failed)
	}
	if back.Outcome != state.RolledBack || back.Hash != "aaaa1111" || back.RollbackOf != failed.ID || back.ReplayOf != ready.ID || back.File != ready.File {
		t.Errorf("rollback record = %+v, want rolled-back to aaaa1111 of %s, replaying %s (%s)", back, failed.ID, ready.ID, ready.File)
	}
	g, err := lastGoodManifest(store, "medium")
	if err != nil || g == nil || g.Hash != "aaaa1111" || g.Source != kube.GoodFromState {
		t.Fatalf("lastGoodManifest = %+v, %v; want aaaa1111 from the state", g, err)
	}
	// A rollback that did not become ready is a failed record.
	if err := recordKubeOutcome(store, kube.Outcome{Profile: "medium", Hash: "cccc3333", Err: fail,
		RolledBack: &kube.Rollback{Hash: "aaaa1111", Source: kube.GoodFromState, Err: errors.New("medium: CrashLoopBackOff")}}, red); err != nil {
		t.Fatal(err)
	}
	// A boot that failed: the monitor's outcome and diagnosis, as on Docker.
	stalled := &kube.EngineFailure{Profile: "medium", Pod: "p", Result: monitor.Result{Outcome: monitor.Timeout, Diagnosis: "no progress for 10m0s while loading"}}
	if err := recordKubeOutcome(store, kube.Outcome{Profile: "medium", Hash: "dddd4444", Err: stalled}, red); err != nil {
		t.Fatal(err)
	}
	hist, _ = store.History("medium")
	if last := hist[len(hist)-1]; last.Outcome != state.Timeout || last.Diagnosis != "no progress for 10m0s while loading" {
		t.Errorf("a stalled boot's record = %+v, want timeout with the monitor's diagnosis", last)
	}
	hist = hist[:len(hist)-1]
	if last := hist[len(hist)-1]; last.Outcome != state.Failed || last.RollbackOf != hist[len(hist)-2].ID || !strings.Contains(last.Diagnosis, "rollback did not become ready") {
		t.Errorf("a failed rollback's record = %+v, want failed, rollback of the deploy before it", last)
	}
}

func TestPathSafe(t *testing.T) {
	for in, want := range map[string]string{"kind-prod": "kind-prod", "arn:aws:eks:eu/x": "arn_aws_eks_eu_x", "../up": "_up", "default": "default"} {
		if got := pathSafe(in); got != want {
			t.Errorf("pathSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

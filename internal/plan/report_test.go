package plan

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

func TestCompareReportedNoPrediction(t *testing.T) {
	rep := map[string]float64{ReportedKVGiB: 12.5, ReportedKVTokens: 1071360, ReportedConcurrency: 8.17, ReportedMaxLen: 131072}
	pl := Estimate(Input{Model: model(t, "Qwen/Qwen3-8B"), Args: vllm.Parse([]string{"--max-model-len=32768"})})
	got := CompareReported(&pl, rep)
	for _, want := range []string{"vLLM reported 12.50 GiB, 1,071,360 tokens, 8.17x concurrency", "no prediction (no GPU inventory"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}
	for _, bad := range []string{"e+06", "0.00 GiB, 0 tokens", "predicted"} {
		if strings.Contains(got, bad) {
			t.Errorf("%q in %q", bad, got)
		}
	}
	if got := CompareReported(nil, map[string]float64{ReportedKVTokens: 464848}); !strings.Contains(got, "464,848 tokens") || !strings.Contains(got, "no plan was made") || !strings.Contains(got, "- GiB") {
		t.Errorf("got %q", got)
	}
}

// A hybrid model: the reported token figure is compared with the plan's figure
// of the same formula (both sides of vLLM PR #41069).
func TestCompareReportedLikeWithLike(t *testing.T) {
	g, err := gpu.Declare("H100 80GB", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	a := vllm.Parse([]string{"--max-model-len=131072"})
	pl := Estimate(Input{Model: model(t, "openai/gpt-oss-20b"), Args: a, GPUs: g, Version: "0.11.0"})
	if pl.TokensBlocks == pl.TokensConc || pl.TokensBlocks == 0 || pl.TokensConc == 0 {
		t.Fatalf("want two different token formulas, got %d and %d", pl.TokensBlocks, pl.TokensConc)
	}
	// Old release: blocks ÷ groups × block.
	old := map[string]float64{ReportedKVGiB: pl.KVAvailGiB, ReportedKVTokens: float64(pl.TokensBlocks), ReportedConcurrency: pl.Concurrency, ReportedMaxLen: 131072}
	got := CompareReported(&pl, old)
	if !strings.Contains(got, vllm.Commas(pl.TokensBlocks)+" tokens (blocks ÷ groups × block size") || !strings.Contains(got, "(+0.0%)") {
		t.Errorf("old formula: %q", got)
	}
	// New release: int(concurrency × max_model_len).
	// vLLM prints the concurrency rounded to two decimals (the plan floors its own).
	printed := math.Round(float64(pl.TokensConc)/131072*100) / 100
	newer := map[string]float64{ReportedKVGiB: pl.KVAvailGiB, ReportedKVTokens: float64(pl.TokensConc), ReportedConcurrency: printed, ReportedMaxLen: 131072}
	got = CompareReported(&pl, newer)
	if !strings.Contains(got, vllm.Commas(pl.TokensConc)+" tokens (concurrency × max_model_len") {
		t.Errorf("new formula: %q", got)
	}
}

const tp2UUIDs = `services:
  vllm-medium:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model=Qwen/Qwen3-8B", "--tensor-parallel-size=2", "--max-model-len=32768"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["GPU-1a2b", "GPU-3c4d"], capabilities: [gpu]}]}}}
`

// Declared GPUs stand for any card of that kind: a TP 2 engine naming GPUs by
// UUID is planned on two declared GPUs; with one declared GPU the plan says
// that the engine needs two, and never "no GPU inventory" beside an inventory.
func TestAssignDeclared(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configs/docker/profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "configs/docker/profiles/medium.yml"), []byte(tp2UUIDs), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(context.Background(), project.Options{Root: dir, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	two, _ := gpu.Declare("", "24GiB", 2)
	pp := PlanProject(p, ProjectInput{GPUs: two, GPUSource: "declared by flags"})
	if len(pp.Engines) != 1 || len(pp.Engines[0].Ranks) != 2 || pp.Engines[0].Verdict == Unknown {
		t.Fatalf("two declared GPUs: %+v", pp.Engines)
	}
	one, _ := gpu.Declare("", "24GiB", 1)
	e := PlanProject(p, ProjectInput{GPUs: one, GPUSource: "declared by flags"}).Engines[0]
	if e.Verdict != Unknown || !strings.Contains(e.NoPrediction, "needs 2 GPUs") || len(e.Ranks) != 0 {
		t.Fatalf("one declared GPU: %s %q", e.Verdict, e.NoPrediction)
	}
	for _, n := range e.Notes {
		if strings.Contains(n, "no GPU inventory") {
			t.Errorf("no-inventory note beside an inventory: %q", n)
		}
	}
}

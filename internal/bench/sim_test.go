package bench

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/vllmctl/vllmctl/internal/sim"
)

// fastStart are the simulator flags of an instant startup.
var fastStart = []string{"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--disable-uvicorn-access-log"}

// simTarget runs vllm-sim in-process (an httptest server over its handler)
// with vLLM and --sim-* args, and returns its target.
func simTarget(t testing.TB, args ...string) (Target, *sim.Server) {
	t.Helper()
	all := append(append([]string{"--model", "sim-model", "--max-num-seqs", "256"}, fastStart...), args...)
	opts, vargs, err := sim.SplitArgs(all, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e := sim.NewEngine(opts, vargs, map[string]string{}, io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := e.Start(ctx); err != nil {
		t.Fatalf("simulator did not start: %v", err)
	}
	s := sim.NewServer(e)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return Target{BaseURL: srv.URL, Model: "sim-model"}, s
}

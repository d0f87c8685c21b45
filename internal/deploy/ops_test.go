package deploy

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitGPURelease: down waits until nvidia-smi shows no process on the
// profile's GPUs, and gives up with a clear error when memory stays held.
func TestWaitGPURelease(t *testing.T) { synctest.Test(t, testWaitGPURelease) }

func testWaitGPURelease(t *testing.T) {
	const idle = "0, GPU-a, NVIDIA H100 80GB HBM3, 00000000:00:06.0, 81559, 0, 81079, 9.0\n"
	const busy = "0, GPU-a, NVIDIA H100 80GB HBM3, 00000000:00:06.0, 81559, 6671, 74409, 9.0\n"
	var calls atomic.Int64
	run := func(_ context.Context, _ string, args ...string) (string, error) {
		n := calls.Add(1)
		if strings.HasPrefix(args[0], "--query-gpu") {
			if n < 5 {
				return busy, nil
			}
			return idle, nil
		}
		if n < 5 {
			return "572, GPU-a, 6662, python3\n", nil
		}
		return "", nil
	}
	if err := waitGPURelease(t.Context(), []string{"0"}, DownOptions{Runner: run, GPURelease: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 5 {
		t.Fatalf("returned while the GPU was busy (%d calls)", calls.Load())
	}
	stuck := func(_ context.Context, _ string, args ...string) (string, error) {
		if strings.HasPrefix(args[0], "--query-gpu") {
			return busy, nil
		}
		return "572, GPU-a, 6662, python3\n", nil
	}
	err := waitGPURelease(t.Context(), []string{"0"}, DownOptions{Runner: stuck, GPURelease: 600 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "GPU memory still held") {
		t.Fatalf("got %v", err)
	}
	// Other GPUs' processes do not hold this profile back.
	if err := waitGPURelease(t.Context(), []string{"1"}, DownOptions{Runner: stuck, GPURelease: time.Second}); err != nil {
		t.Fatal(err)
	}
}

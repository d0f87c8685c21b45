package monitor

import "testing"

func TestConcreteFix(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Result
		want string
	}{
		{"kv estimate, rounded to 16", Result{Fatal: "kv-too-small", Values: map[string]float64{"est_max_len": 12345}, Fix: "generic"},
			"lower --max-model-len to 12336 (vLLM's estimate), or raise --gpu-memory-utilization, or use --kv-cache-dtype fp8"},
		{"free memory", Result{Fatal: "free-memory", Values: map[string]float64{"free_gib": 20, "total_gib": 24}, Fix: "generic"},
			"lower --gpu-memory-utilization to 0.81 (free 20.00 of 24.00 GiB) or free the GPU"},
		{"derived length", Result{Fatal: "max-model-len", Values: map[string]float64{"derived": 32768}, Fix: "generic"},
			"lower --max-model-len to 32768, or declare --rope-scaling"},
		{"no numbers", Result{Fatal: "kv-too-small", Fix: "generic"}, "generic"},
		{"other fatal", Result{Fatal: "cuda-oom", Values: map[string]float64{"est_max_len": 1}, Fix: "generic"}, "generic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.ConcreteFix(); got != tc.want {
				t.Errorf("ConcreteFix() = %q, want %q", got, tc.want)
			}
		})
	}
}

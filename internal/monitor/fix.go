package monitor

import "fmt"

// ConcreteFix is the result's fix made concrete with the numbers vLLM
// printed on the root-cause line (Values): the --max-model-len vLLM
// estimated, the --gpu-memory-utilization that fits the free memory, the
// derived context length. Without those numbers it is Fix as it is.
func (r Result) ConcreteFix() string {
	v := r.Values
	switch r.Fatal {
	case "kv-too-small":
		if est := v["est_max_len"]; est > 0 {
			return fmt.Sprintf("lower --max-model-len to %d (vLLM's estimate), or raise --gpu-memory-utilization, or use --kv-cache-dtype fp8", int(est)/16*16)
		}
	case "free-memory":
		if v["total_gib"] > 0 {
			return fmt.Sprintf("lower --gpu-memory-utilization to %.2f (free %.2f of %.2f GiB) or free the GPU", v["free_gib"]/v["total_gib"]-0.02, v["free_gib"], v["total_gib"])
		}
	case "max-model-len":
		if d := v["derived"]; d > 0 {
			return fmt.Sprintf("lower --max-model-len to %d, or declare --rope-scaling", int(d))
		}
	}
	return r.Fix
}

package plan

import (
	"math"
	"testing"
)

// TestMXFP4WeightsQuantizeExpertsOnly works the weight bytes of the gpt-oss
// checkpoints by hand: MoE experts (layers × experts × 3 × hidden ×
// intermediate) at 4.25 bits, every other parameter (attention, router,
// embeddings, lm_head) at 16 bits.
func TestMXFP4WeightsQuantizeExpertsOnly(t *testing.T) {
	for _, tc := range []struct {
		id      string
		experts float64
		params  float64
	}{
		{"openai/gpt-oss-20b", 24 * 32 * 3 * 2880 * 2880, 20.9e9},
		{"openai/gpt-oss-120b", 36 * 128 * 3 * 2880 * 2880, 116.8e9},
	} {
		m, ok := LookupModel(tc.id)
		if !ok {
			t.Fatalf("%s not in the catalog", tc.id)
		}
		if m.CheckpointQ != "mxfp4" || m.ExpertFFN != 2880 {
			t.Fatalf("%s: checkpoint %q, expert intermediate %d", tc.id, m.CheckpointQ, m.ExpertFFN)
		}
		want := tc.experts*4.25/8 + (tc.params-tc.experts)*2
		got, bits := weightBytes(m, "mxfp4", "")
		if math.Abs(got-want) > 1 {
			t.Errorf("%s: %.0f B, want %.0f B", tc.id, got, want)
		}
		if math.Abs(bits-want*8/tc.params) > 1e-9 {
			t.Errorf("%s: %.4f effective bits, want %.4f", tc.id, bits, want*8/tc.params)
		}
		// The previous rule (all non-embedding parameters at 4.25 bits) gave less.
		if old := (tc.params-2*201088*2880)*4.25/8 + 2*201088*2880*2; got <= old {
			t.Errorf("%s: %.2f GiB is not above the all-quantized %.2f GiB", tc.id, got/gib, old/gib)
		}
	}
}

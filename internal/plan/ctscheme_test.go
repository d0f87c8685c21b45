package plan

import "testing"

// TestStoredQuantCompressedTensors: compressed-tensors is a container; the
// weights' bits come from its config groups, else the checkpoint's name
// (an NVFP4 checkpoint planned at 8 bits was twice too large, found on a
// public compose file with --quantization compressed-tensors).
func TestStoredQuantCompressedTensors(t *testing.T) {
	group := func(typ string, bits float64) map[string]any {
		return map[string]any{"quant_method": "compressed-tensors", "config_groups": map[string]any{
			"group_0": map[string]any{"weights": map[string]any{"type": typ, "num_bits": bits}}}}
	}
	for _, c := range []struct {
		qc   map[string]any
		want string
	}{
		{group("float", 4), "nvfp4"},
		{group("int", 4), "gptq"},
		{group("float", 8), "fp8"},
		{group("int", 8), "fp8"},
		{map[string]any{"quant_method": "compressed-tensors"}, ""},
	} {
		if got := compressedTensorsScheme(c.qc); got != c.want {
			t.Errorf("%v: %q, want %q", c.qc, got, c.want)
		}
	}
	for _, c := range []struct {
		m           Model
		model, want string
	}{
		{Model{CTScheme: "gptq"}, "nvidia/Qwen3.6-35B-A3B-NVFP4", "gptq"}, // the config wins
		{Model{}, "nvidia/Qwen3.6-35B-A3B-NVFP4", "nvfp4"},
		{Model{}, "RedHatAI/Qwen3-8B-quantized.w4a16", "gptq"},
		{Model{}, "RedHatAI/Llama-3.1-8B-Instruct-FP8-dynamic", "fp8"},
		{Model{}, "Qwen/Qwen3-8B", "compressed-tensors"},
	} {
		if got, note := storedQuant(c.m, c.model, "compressed-tensors"); got != c.want || note == "" {
			t.Errorf("%s: %q (note %q), want %q with a note", c.model, got, note, c.want)
		}
	}
	if got, note := storedQuant(Model{CTScheme: "nvfp4"}, "x/y-AWQ", "awq"); got != "awq" || note != "" {
		t.Errorf("awq: %q %q, want awq unchanged", got, note)
	}
	if m, ok := LookupModel("RedHatAI/Qwen3-8B-quantized.w4a16"); !ok || m.ID != "Qwen/Qwen3-8B" || m.CheckpointQ != "gptq" {
		t.Errorf("RedHatAI/Qwen3-8B-quantized.w4a16: %q %q %v, want Qwen/Qwen3-8B stored as gptq", m.ID, m.CheckpointQ, ok)
	}
	b4, _ := weightBytes(Model{ParamsB: 8, Vocab: 1000, Hidden: 100}, "nvfp4", "auto")
	b8, _ := weightBytes(Model{ParamsB: 8, Vocab: 1000, Hidden: 100}, "compressed-tensors", "auto")
	if b4 >= b8*0.6 {
		t.Errorf("nvfp4 %.3g B vs 8-bit %.3g B: want about half", b4, b8)
	}
}

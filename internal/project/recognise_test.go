package project

import (
	"maps"
	"slices"
	"testing"
)

// TestRecogniseUnseenForms: forms met on public compose files vllmctl had
// not seen. A service named for vLLM whose image is a variable and whose
// command is `vllm serve`'s arguments with the model first is an engine; a
// chatbot app whose image and name hold "vllm" is not.
func TestRecogniseUnseenForms(t *testing.T) {
	got := loadEngines(t, `services:
  vllm:
    image: ${IMAGE}
    command: ["/models/model", "--served-model-name=qwen", "--tensor-parallel-size=2", "--max-model-len=8192"]
  vllm-app:
    image: vllm-chatbot:latest
    environment: [VLLM_BASE_URL=http://vllm:8000/v1]
  vllm-frontend:
    image: ${FRONTEND_IMAGE}
    command: ["node", "server.js", "--port", "3000"]
`)
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, []string{"vllm"}) {
		t.Fatalf("engines %v, want [vllm]", names)
	}
	e := got["vllm"]
	if e.EngineReason != ByName || e.Args.Model != "/models/model" || e.Args.TensorParallelSize != 2 || e.Args.MaxModelLen != 8192 {
		t.Errorf("vllm: reason %v model %q TP %d max-len %d; want by name, /models/model, 2, 8192", e.EngineReason, e.Args.Model, e.Args.TensorParallelSize, e.Args.MaxModelLen)
	}
}

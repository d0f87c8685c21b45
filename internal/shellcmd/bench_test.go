package shellcmd

import "testing"

// benchScript is a 40-line entrypoint in the shape real wrappers take.
const benchScript = `#!/bin/bash
set -euo pipefail

# Defaults, overridable from the service environment.
MODEL="${MODEL:-Qwen/Qwen3-32B-AWQ}"
SERVED_NAME="${SERVED_NAME:-${MODEL##*/}}"
TP="${TENSOR_PARALLEL_SIZE:-2}"
MAX_LEN="${MAX_MODEL_LEN:-131072}"
GPU_UTIL="${GPU_MEMORY_UTILIZATION:-0.90}"
KV_DTYPE="${KV_CACHE_DTYPE:-fp8}"
PORT="${PORT:-8000}"

log() { echo "[entrypoint] $*" >&2; }

if [ -n "${HF_TOKEN_FILE:-}" ] && [ -f "$HF_TOKEN_FILE" ]; then
  export HF_TOKEN="$(cat "$HF_TOKEN_FILE")"
fi

ARGS="--host 0.0.0.0 --port $PORT"
ARGS="$ARGS --served-model-name $SERVED_NAME"
ARGS="$ARGS --tensor-parallel-size $TP --max-model-len $MAX_LEN"
ARGS="$ARGS --gpu-memory-utilization $GPU_UTIL --kv-cache-dtype $KV_DTYPE"

case "${QUANTIZATION:-awq}" in
  awq) ARGS="$ARGS --quantization awq_marlin" ;;
  gptq) ARGS="$ARGS --quantization gptq_marlin" ;;
  none) ;;
  *) log "unknown quantization"; exit 1 ;;
esac

[ -n "${ENFORCE_EAGER:-}" ] && ARGS="$ARGS --enforce-eager"
if [[ "${ENABLE_TOOLS:-1}" == 1 ]]; then
  ARGS="$ARGS --enable-auto-tool-choice --tool-call-parser hermes"
fi

log "starting vLLM for $MODEL"
pip install --no-cache-dir flash-attn >/dev/null 2>&1 || true
# shellcheck disable=SC2086
exec python3 -m vllm.entrypoints.openai.api_server --model "$MODEL" \
  $ARGS ${EXTRA_ARGS:-} "$@"
`

func BenchmarkParse40Lines(b *testing.B) {
	opt := Options{Env: envOf("TENSOR_PARALLEL_SIZE", "4", "HF_TOKEN_FILE", "/run/secrets/hf"), Args: []string{"--seed", "1"}}
	b.ReportAllocs()
	for b.Loop() {
		cmds, err := Parse(benchScript, opt)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, ok := FindVLLM(cmds); !ok {
			b.Fatal("no vLLM command")
		}
	}
}

func TestBenchScript(t *testing.T) {
	opt := Options{Env: envOf("TENSOR_PARALLEL_SIZE", "4", "HF_TOKEN_FILE", "/run/secrets/hf"), Args: []string{"--seed", "1"}}
	cmds, err := Parse(benchScript, opt)
	if err != nil {
		t.Fatal(err)
	}
	cmd, i, ok := FindVLLM(cmds)
	if !ok {
		t.Fatalf("no vLLM command in %q", renderAll(cmds))
	}
	argv, _ := cmd.Argv()
	got := render(Command{Words: cmd.Words[i:], Line: cmd.Line, Exec: cmd.Exec})
	want := "L39 E: python3 -m vllm.entrypoints.openai.api_server --model Qwen/Qwen3-32B-AWQ --host 0.0.0.0 --port 8000 --served-model-name Qwen3-32B-AWQ --tensor-parallel-size 4 --max-model-len 131072 --gpu-memory-utilization 0.90 --kv-cache-dtype fp8 --quantization awq_marlin --enable-auto-tool-choice --tool-call-parser hermes --seed 1"
	if got != want {
		t.Errorf("vLLM command\n got %s\nwant %s\n(argv %q)", got, want, argv)
	}
}

package vllm

import (
	"os"
	"strings"
	"testing"
)

// TestClassifyRealLines checks the pattern table against real vLLM lines.
func TestClassifyRealLines(t *testing.T) {
	data, err := os.ReadFile("testdata/real_lines.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		want, line, _ := strings.Cut(l, "\t")
		info := ClassifyLine(line)
		got := string(info.Kind)
		switch info.Kind {
		case KindPhase:
			got = string(info.Phase)
		case KindFatal:
			got = "fatal:" + info.Fatal
		}
		if got != want {
			t.Errorf("%q: got %s, want %s", line, got, want)
		}
		n++
	}
	if n < 30 {
		t.Fatalf("only %d lines", n)
	}
}

func TestClassifyValues(t *testing.T) {
	i := ClassifyLine("\x1b[32m(EngineCore_0 pid=2)\x1b[0m INFO 08-21 10:03:15 [kv_cache_utils.py:849] GPU KV cache size: 464,848 tokens")
	if i.Values["tokens"] != 464848 || i.Process != "EngineCore_0" {
		t.Fatalf("got %+v", i)
	}
	i = ClassifyLine("vllm-medium  | (VllmWorker TP1 pid=9) INFO 08-21 10:02:54 [gpu_model_runner.py:2007] Model loading took 9.0100 GiB and 30.5 seconds")
	if i.Phase != PhaseLoaded || i.Values["gib"] != 9.01 || i.Process != "VllmWorker TP1" {
		t.Fatalf("got %+v", i)
	}
	i = ClassifyLine("ValueError: To serve at least one request with the models's max seq len (131072), (24.00 GiB KV cache is needed, which is larger than the available KV cache memory (12.51 GiB). Based on the available memory, the estimated maximum model length is 68288. Try")
	if i.Values["est_max_len"] != 68288 || i.Values["avail_gib"] != 12.51 {
		t.Fatalf("got %+v", i)
	}
}

func FuzzClassifyLine(f *testing.F) {
	f.Add("(APIServer pid=1) INFO 08-21 10:02:17 [api_server.py:1805] vLLM API server version 0.10.1.1")
	f.Add("\x1b[1mGPU KV cache size: 1,2,3 tokens\r\x1b[0m")
	f.Fuzz(func(t *testing.T, s string) {
		a, b := ClassifyLine(s), ClassifyLine(s)
		if a.Kind != b.Kind || a.Phase != b.Phase || a.Fatal != b.Fatal {
			t.Fatal("not deterministic")
		}
	})
}

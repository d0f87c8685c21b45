package monitor

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

type fakeProber struct {
	up     atomic.Bool
	models []string
	calls  atomic.Int64
}

func (f *fakeProber) Health(context.Context) error {
	f.calls.Add(1)
	if !f.up.Load() {
		return errors.New("connection refused")
	}
	return nil
}
func (f *fakeProber) Models(context.Context) ([]string, error) { return f.models, nil }
func (f *fakeProber) Complete(context.Context, string) error   { return nil }

const startup = `INFO 08-21 10:02:11 [__init__.py:241] Automatically detected platform cuda.
(APIServer pid=1) INFO 08-21 10:02:17 [api_server.py:1805] vLLM API server version 0.10.1.1
(APIServer pid=1) INFO 08-21 10:02:25 [config.py:1708] Using max model len 16384
(EngineCore_0 pid=2) INFO 08-21 10:02:33 [core.py:636] Waiting for init message from front-end.
(EngineCore_0 pid=2) INFO 08-21 10:02:50 [gpu_model_runner.py:1953] Starting to load model m...
(EngineCore_0 pid=2) INFO 08-21 10:02:54 [gpu_model_runner.py:2007] Model loading took 14.2488 GiB and 2.993822 seconds
(APIServer pid=1) WARNING 08-21 10:02:55 [x.py:1] a harmless warning that says failed and CUDA and Exception
(EngineCore_0 pid=2) INFO 08-21 10:03:15 [gpu_worker.py:276] Available KV cache memory: 24.83 GiB
(EngineCore_0 pid=2) INFO 08-21 10:03:15 [kv_cache_utils.py:849] GPU KV cache size: 464,848 tokens
(EngineCore_0 pid=2) INFO 08-21 10:03:15 [kv_cache_utils.py:853] Maximum concurrency for 16,384 tokens per request: 28.37x
(APIServer pid=1) INFO 08-21 10:03:19 [api_server.py:1880] Starting vLLM API server 0 on http://0.0.0.0:8081`

func feed(text string) chan string {
	ch := make(chan string, 100)
	for _, l := range strings.Split(text, "\n") {
		ch <- l
	}
	return ch
}

func TestReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakeProber{models: []string{"m"}}
		lines := feed(startup)
		var events []Event
		go func() {
			time.Sleep(5 * time.Second) // the port opens a little after the start line
			p.up.Store(true)
		}()
		r := Watch(t.Context(), lines, nil, p, Options{ServedName: "m", Completion: true, OnEvent: func(e Event) { events = append(events, e) }})
		if r.Outcome != Ready || r.Phase != vllm.PhaseAPIServer {
			t.Fatalf("got %+v", r)
		}
		if r.Reported["kv_tokens"] != 464848 || r.Reported["weights_gib"] != 14.2488 || r.Reported["kv_gib"] != 24.83 || r.Reported["concurrency"] != 28.37 {
			t.Errorf("reported %v", r.Reported)
		}
		// Ready within one probe interval of the port opening.
		if r.Elapsed > 5*time.Second+100*time.Millisecond {
			t.Errorf("ready after %s", r.Elapsed)
		}
		kinds := map[string]int{}
		for _, e := range events {
			kinds[e.Kind]++
		}
		if kinds["warning"] != 1 || kinds["fatal"] != 0 || kinds["ready"] != 1 {
			t.Errorf("events %v", kinds)
		}
	})
}

func TestServedNameMustBeListed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakeProber{models: []string{"other"}}
		p.up.Store(true)
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		r := Watch(ctx, feed(startup), nil, p, Options{ServedName: "m"})
		if r.Outcome != Canceled {
			t.Fatalf("ready although /v1/models lacks the served name: %+v", r.Outcome)
		}
	})
}

func TestFatalKeepsRootCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Real order: the core's "failed to start" line, its traceback ending
		// in the root cause, then the front end's wrapper.
		lines := feed(startup[:strings.Index(startup, "(EngineCore_0 pid=2) INFO 08-21 10:03:15")] +
			"(EngineCore_0 pid=2) ERROR 08-21 10:03:15 [core.py:700] EngineCore failed to start.\n" +
			"(EngineCore_0 pid=2) ERROR 08-21 10:03:15 [core.py:700] Traceback (most recent call last):\n" +
			"(EngineCore_0 pid=2) ERROR 08-21 10:03:15 [core.py:700] ValueError: To serve at least one request with the models's max seq len (131072), (24.00 GiB KV cache is needed, which is larger than the available KV cache memory (12.51 GiB). Based on the available memory, the estimated maximum model length is 68288. Try increasing `gpu_memory_utilization`\n" +
			"(APIServer pid=1) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}")
		r := Watch(t.Context(), lines, nil, &fakeProber{}, Options{})
		if r.Outcome != Failed || r.Fatal != "kv-too-small" || r.Values["est_max_len"] != 68288 || !strings.Contains(r.RootCause, "max seq len (131072)") {
			t.Fatalf("got %+v", r)
		}
		if len(r.Tail) < 2 || !strings.Contains(r.Tail[len(r.Tail)-2], "ValueError: To serve") || !strings.Contains(r.Tail[len(r.Tail)-1], "initialization failed") {
			t.Errorf("tail %v", r.Tail)
		}
	})
}

func TestExitAndCrashLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exits := make(chan Exit, 1)
		exits <- Exit{Code: 137}
		r := Watch(t.Context(), feed("INFO 08-21 10:02:11 [__init__.py:241] Automatically detected platform cuda."), exits, &fakeProber{}, Options{})
		if r.Outcome != Failed || r.Exit.Code != 137 || !strings.Contains(r.Diagnosis, "exited with status 137") {
			t.Fatalf("got %+v", r)
		}
		exits <- Exit{Restart: true, Restarts: 3}
		r = Watch(t.Context(), feed(""), exits, &fakeProber{}, Options{})
		if !strings.Contains(r.Diagnosis, "crash loop") {
			t.Fatalf("got %+v", r)
		}
	})
}

// TestStallResetsOnProgress: the stall timeout restarts at each phase, and a
// silent loading phase gets the long download allowance.
func TestStallResetsOnProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lines := make(chan string)
		go func() {
			for _, l := range strings.Split(startup, "\n")[:5] {
				time.Sleep(4 * time.Minute) // each under the 5m stall, 20m in all
				lines <- l
			}
		}()
		start := time.Now()
		r := Watch(t.Context(), lines, nil, &fakeProber{}, Options{StallOther: 5 * time.Minute, StallLoading: 30 * time.Minute})
		if r.Outcome != Timeout || r.Phase != vllm.PhaseLoading {
			t.Fatalf("got %+v", r)
		}
		if got := time.Since(start); got < 50*time.Minute || got > 50*time.Minute+time.Second {
			t.Errorf("timed out after %s, want 50m (progress until 20m, then the 30m loading allowance)", got)
		}
		if !strings.Contains(r.Fix, "Hugging Face cache") {
			t.Errorf("fix %q", r.Fix)
		}
	})
}

package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// logBuf collects the simulator's output safely across goroutines.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type running struct {
	url    string
	log    *logBuf
	cancel context.CancelFunc
	done   chan int
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime_Gosched()
	}
}

func runtime_Gosched() { time.Sleep(0) }

var fast = []string{"--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--sim-ttft=0", "--sim-itl=0", "--sim-prefill-per-token=0", "--disable-uvicorn-access-log"}

// start runs the simulator in-process; it does not wait for readiness.
func start(t testing.TB, env map[string]string, args ...string) *running {
	t.Helper()
	port := freeport.T(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{url: fmt.Sprintf("http://127.0.0.1:%d", port), log: &logBuf{}, cancel: cancel, done: make(chan int, 1)}
	all := append([]string{"--host", "127.0.0.1", "--port", fmt.Sprint(port)}, args...)
	if env == nil {
		env = map[string]string{}
	}
	go func() { r.done <- Main(ctx, all, env, r.log, r.log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("simulator did not stop")
		}
	})
	return r
}

func (r *running) ready(t testing.TB) *running {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.log.String(), "Application startup complete.") {
		select {
		case code := <-r.done:
			t.Fatalf("simulator exited %d before ready:\n%s", code, r.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", r.log)
		}
		time.Sleep(0)
	}
	return r
}

func (r *running) exit(t *testing.T) int {
	t.Helper()
	select {
	case c := <-r.done:
		r.done <- c
		return c
	case <-time.After(10 * time.Second):
		t.Fatalf("simulator did not exit:\n%s", r.log)
	}
	return -1
}

func get(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPortClosedUntilReady(t *testing.T) {
	r := start(t, nil, append(fast, "--model", "Qwen/Qwen3-0.6B", "--sim-stall-at", "graphs")...)
	eventually(t, 5*time.Second, "KV cache line", func() bool { return strings.Contains(r.log.String(), "GPU KV cache size") })
	_, err := net.Dial("tcp", strings.TrimPrefix(r.url, "http://"))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while loading the port must refuse connections, got %v", err)
	}
}

func TestEndpoints(t *testing.T) {
	r := start(t, nil, append(fast, "--model", "Qwen/Qwen3-8B", "--served-model-name", "qwen3-8b", "mini", "--max-model-len", "8192", "--api-key", "sk-test", "--enable-server-load-tracking")...).ready(t)
	if code, body := get(t, r.url+"/health"); code != 200 || body != "" {
		t.Errorf("/health: %d %q", code, body)
	}
	if code, _ := post(t, r.url+"/ping", ""); code != 200 {
		t.Errorf("/ping: %d", code)
	}
	if _, body := get(t, r.url+"/version"); body != `{"version":"0.10.1.1"}` {
		t.Errorf("/version: %s", body)
	}
	if code, body := get(t, r.url+"/v1/models"); code != 401 || body != `{"error":"Unauthorized"}` {
		t.Errorf("/v1/models without key: %d %s", code, body)
	}
	code, body := get(t, r.url+"/v1/models", "Authorization", "Bearer sk-test")
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			Root        string `json:"root"`
			MaxModelLen int    `json:"max_model_len"`
			OwnedBy     string `json:"owned_by"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &models); err != nil || code != 200 || len(models.Data) != 2 ||
		models.Data[0].ID != "qwen3-8b" || models.Data[1].ID != "mini" || models.Data[0].Root != "Qwen/Qwen3-8B" || models.Data[0].MaxModelLen != 8192 || models.Data[0].OwnedBy != "vllm" {
		t.Errorf("/v1/models: %d %s", code, body)
	}
	if _, body := get(t, r.url+"/load"); body != `{"server_load":0}` {
		t.Errorf("/load: %s", body)
	}
	// errors: unknown model (flat body in 0.10 builds), too long a request
	code, body = post(t, r.url+"/v1/completions", `{"model":"nope","prompt":"x"}`, "Authorization", "Bearer sk-test")
	if code != 404 || !strings.Contains(body, `"message":"The model `+"`nope`"+` does not exist."`) || !strings.Contains(body, `"object":"error"`) {
		t.Errorf("unknown model: %d %s", code, body)
	}
	code, body = post(t, r.url+"/v1/completions", `{"model":"mini","prompt":"x","max_tokens":9000}`, "Authorization", "Bearer sk-test")
	if code != 400 || !strings.Contains(body, "maximum context length is 8192 tokens") {
		t.Errorf("too long: %d %s", code, body)
	}
	code, body = post(t, r.url+"/v1/chat/completions", `{"model":"mini","messages":[{"role":"user","content":"x"}],"tool_choice":"auto","tools":[]}`, "Authorization", "Bearer sk-test")
	if code != 400 || !strings.Contains(body, `\"auto\" tool choice requires --enable-auto-tool-choice`) {
		t.Errorf("tool choice: %d %s", code, body)
	}
}

func TestNestedErrorsAndEnvKey(t *testing.T) {
	r := start(t, map[string]string{"VLLM_API_KEY": "env-key"}, append(fast, "--model", "m-1B", "--sim-version", "0.11.0")...).ready(t)
	code, body := post(t, r.url+"/v1/completions", `{"model":"x","prompt":"p"}`, "Authorization", "Bearer env-key")
	if code != 404 || !strings.HasPrefix(body, `{"error":{`) || !strings.Contains(body, `"type":"NotFoundError"`) || !strings.Contains(body, `"code":404`) {
		t.Errorf("got %d %s", code, body)
	}
	if code, _ := get(t, r.url+"/v1/models", "Authorization", "Bearer wrong"); code != 401 {
		t.Errorf("wrong key: %d", code)
	}
}

// TestOpenAIClient talks to the simulator with the official OpenAI Go client.
func TestOpenAIClient(t *testing.T) {
	r := start(t, nil, append(fast, "--model", "Qwen/Qwen3-1.7B", "--served-model-name", "micro", "--api-key", "k1")...).ready(t)
	c := openai.NewClient(option.WithBaseURL(r.url+"/v1"), option.WithAPIKey("k1"))
	ctx := t.Context()
	params := openai.ChatCompletionNewParams{Model: "micro", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")}, MaxTokens: openai.Int(6)}
	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "micro" || resp.Usage.CompletionTokens != 6 || resp.Choices[0].FinishReason != "length" || len(strings.Fields(resp.Choices[0].Message.Content)) != 6 {
		t.Fatalf("got %+v", resp)
	}
	again, err := c.Chat.Completions.New(ctx, params)
	if err != nil || again.Choices[0].Message.Content != resp.Choices[0].Message.Content {
		t.Fatalf("output is not deterministic: %q vs %q (%v)", again.Choices[0].Message.Content, resp.Choices[0].Message.Content, err)
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != resp.Choices[0].Message.Content || acc.Usage.CompletionTokens != 6 || chunks != 8 {
		t.Fatalf("stream: %q usage %+v chunks %d", acc.Choices[0].Message.Content, acc.Usage, chunks)
	}
	comp, err := c.Completions.New(ctx, openai.CompletionNewParams{Model: "micro", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once")}, MaxTokens: openai.Int(3)})
	if err != nil || comp.Usage.CompletionTokens != 3 || comp.Object != "text_completion" {
		t.Fatalf("completion: %+v %v", comp, err)
	}
	// metrics moved with the load
	_, m := get(t, r.url+"/metrics")
	for _, want := range []string{
		`vllm:generation_tokens_total{engine="0",model_name="micro"} 21`,
		`vllm:request_success_total{engine="0",finished_reason="length",model_name="micro"} 4`,
		`# TYPE vllm:time_to_first_token_seconds histogram`,
		`vllm:time_to_first_token_seconds_count{engine="0",model_name="micro"} 4`,
		`vllm:num_requests_running{engine="0",model_name="micro"} 0`,
		`vllm:cache_config_info{block_size="16",cache_dtype="auto"`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestConcurrencyCap: requests beyond --max-num-seqs wait, as in vLLM.
func TestConcurrencyCap(t *testing.T) {
	r := start(t, nil, "--sim-phase-time=0", "--sim-load-time=0", "--sim-compile-time=0", "--sim-graph-time=0", "--disable-uvicorn-access-log",
		"--model", "m-1B", "--max-num-seqs", "2", "--sim-wedge").ready(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i := 0; i < 5; i++ {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", r.url+"/v1/completions", strings.NewReader(`{"model":"m-1B","prompt":"p","max_tokens":4}`))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	eventually(t, 5*time.Second, "2 running and 3 waiting", func() bool {
		_, m := get(t, r.url+"/metrics")
		return strings.Contains(m, `vllm:num_requests_running{engine="0",model_name="m-1B"} 2`) && strings.Contains(m, `vllm:num_requests_waiting{engine="0",model_name="m-1B"} 3`)
	})
	// wedged: /health still says 200 while decode hangs
	if code, _ := get(t, r.url+"/health"); code != 200 {
		t.Fatalf("wedged engine /health %d", code)
	}
	// unwedge: everything completes
	post(t, r.url+"/sim/fault", `{"wedge":false}`)
	eventually(t, 5*time.Second, "all 5 done", func() bool {
		_, m := get(t, r.url+"/metrics")
		return strings.Contains(m, `vllm:request_success_total{engine="0",finished_reason="length",model_name="m-1B"} 5`)
	})
}

func TestCrashAfterRequests(t *testing.T) {
	r := start(t, nil, append(fast, "--model", "m-1B", "--sim-crash-after-requests", "1", "--sim-death-exit", "100ms")...).ready(t)
	if code, _ := post(t, r.url+"/v1/completions", `{"model":"m-1B","prompt":"p"}`); code != 200 {
		t.Fatalf("first request %d", code)
	}
	// The engine is dead: /health 503 and requests 500 with an empty body, then exit 1.
	eventually(t, 5*time.Second, "exit", func() bool {
		select {
		case c := <-r.done:
			r.done <- c
			return true
		default:
			return false
		}
	})
	if c := r.exit(t); c != 1 || !strings.Contains(r.log.String(), "EngineDeadError") {
		t.Fatalf("exit %d\n%s", c, r.log)
	}
}

func TestDeadKeepsAnswering503(t *testing.T) {
	r := start(t, map[string]string{"VLLM_KEEP_ALIVE_ON_ENGINE_DEATH": "1"}, append(fast, "--model", "m-1B")...).ready(t)
	post(t, r.url+"/sim/fault", `{"crash":true}`)
	if code, _ := get(t, r.url+"/health"); code != 503 {
		t.Errorf("/health after death: %d", code)
	}
	if code, body := post(t, r.url+"/v1/completions", `{"model":"m-1B","prompt":"p"}`); code != 500 || body != "" {
		t.Errorf("request after death: %d %q", code, body)
	}
}

func TestRefuseFor(t *testing.T) {
	r := start(t, nil, append(fast, "--model", "m-1B")...).ready(t)
	post(t, r.url+"/sim/fault", `{"refuse_for":"300ms"}`)
	addr := strings.TrimPrefix(r.url, "http://")
	eventually(t, 5*time.Second, "refused", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	eventually(t, 5*time.Second, "accepting again", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// Startup failures print vLLM's own text and exit as vLLM does.
func TestStartupFailures(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"kv too small", []string{"--model", "Qwen/Qwen3-8B", "--max-model-len", "40960", "--gpu-memory-utilization", "0.85", "--sim-gpu", "RTX 4090"}, 1,
			`ValueError: To serve at least one request with the models's max seq len \(40960\), \(5\.6[23] GiB KV cache is needed, which is larger than the available KV cache memory \([0-9.]+ GiB\)\. Based on the available memory, the estimated maximum model length is [0-9]+\.`},
		{"oom while loading", []string{"--model", "Qwen/Qwen3-32B", "--max-model-len", "8192", "--sim-gpu", "RTX 4090"}, 1, `torch.OutOfMemoryError: CUDA out of memory`},
		{"no kv memory", []string{"--model", "Qwen/Qwen3-8B", "--gpu-memory-utilization", "0.65", "--sim-gpu", "RTX 4090", "--max-model-len", "4096"}, 1, `ValueError: No available memory for the cache blocks`},
		{"free memory", []string{"--model", "Qwen/Qwen3-8B", "--sim-gpu", "RTX 4090", "--sim-gpu-free", "12GiB"}, 1, `ValueError: Free memory on device \(12\.00/23\.99 GiB\) on startup is less than desired GPU memory utilization \(0\.90, 21\.59 GiB\)`},
		{"max model len", []string{"--model", "Qwen/Qwen3-8B", "--max-model-len", "131072"}, 1, `User-specified max_model_len \(131072\) is greater than the derived max_model_len \(max_position_embeddings=40960`},
		{"empty api key", []string{"--model", "m-1B", "--api-key"}, 2, `vllm serve: error: argument --api-key: expected at least one argument`},
		{"removed flag", []string{"--model", "m-1B", "--enable-reasoning"}, 2, `error: unrecognized arguments: --enable-reasoning`},
		{"bad parser", []string{"--model", "m-1B", "--enable-auto-tool-choice", "--tool-call-parser", "qwen3"}, 1, `KeyError: 'invalid tool call parser: qwen3 \(chose from \{`},
		{"forced crash", []string{"--model", "m-1B", "--sim-fail-at", "loading"}, 1, `RuntimeError: Engine core initialization failed. See root cause above.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, nil, append(fast, tt.args...)...)
			if code := r.exit(t); code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, r.log)
			}
			if !regexp.MustCompile(tt.want).MatchString(r.log.String()) {
				t.Fatalf("log lacks %q:\n%s", tt.want, r.log)
			}
			// the classifier names the failure from the simulator's own lines
			found := false
			for _, l := range strings.Split(r.log.String(), "\n") {
				if vllm.ClassifyLine(l).Kind == vllm.KindFatal {
					found = true
				}
			}
			if !found {
				t.Errorf("no line classified as fatal")
			}
		})
	}
}

func TestStalledLoad(t *testing.T) {
	r := start(t, nil, append(fast, "--model", "m-1B", "--sim-stall-at", "loading")...)
	eventually(t, 5*time.Second, "engine init", func() bool { return strings.Contains(r.log.String(), "Initializing a V1 LLM engine") })
	// Nothing more comes: the engine neither loads nor exits while the stall holds.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if strings.Contains(r.log.String(), "Starting to load model") {
			t.Fatal("stalled engine went on loading")
		}
		select {
		case c := <-r.done:
			t.Fatalf("stalled engine exited %d", c)
		default:
		}
		time.Sleep(0)
	}
}

// TestLogShape: the simulator's startup log, classified with the shared
// pattern table, goes through every phase in vLLM's order, with the per-rank
// lines of tensor parallelism, and has the same phase set as the real lines.
func TestLogShape(t *testing.T) {
	r := start(t, nil, append(fast, "--model", "Qwen/Qwen3-32B-AWQ", "--tensor-parallel-size", "2", "--quantization", "awq_marlin", "--sim-gpu", "RTX 4090")...).ready(t)
	var order []vllm.Phase
	perRank := map[string]bool{}
	for _, l := range strings.Split(r.log.String(), "\n") {
		info := vllm.ClassifyLine(l)
		if info.Kind == vllm.KindFatal {
			t.Errorf("fatal line in a good start: %s", l)
		}
		if info.Kind != vllm.KindPhase {
			continue
		}
		if len(order) == 0 || order[len(order)-1] != info.Phase {
			order = append(order, info.Phase)
		}
		if info.Phase == vllm.PhaseLoaded || info.Phase == vllm.PhaseProfiling {
			perRank[string(info.Phase)+"/"+info.Process] = true
		}
	}
	want := append([]vllm.Phase(nil), vllm.Phases...)
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("phases %v, want %v", order, want)
	}
	for _, k := range []string{"loaded/VllmWorker TP0", "loaded/VllmWorker TP1", "profiling/VllmWorker TP0", "profiling/VllmWorker TP1"} {
		if !perRank[k] {
			t.Errorf("no %s line", k)
		}
	}
	real := realPhases(t)
	for _, p := range want {
		if !real[p] {
			t.Errorf("phase %s not in the real lines", p)
		}
	}
}

func realPhases(t *testing.T) map[vllm.Phase]bool {
	f, err := os.Open("../vllm/testdata/real_lines.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[vllm.Phase]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, line, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			if i := vllm.ClassifyLine(line); i.Kind == vllm.KindPhase {
				out[i.Phase] = true
			}
		}
	}
	return out
}

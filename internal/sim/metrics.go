package sim

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are vLLM V1's names, types and labels (FACTS.md §2), on a private registry.
type metrics struct {
	reg        *prometheus.Registry
	running    prometheus.Gauge
	waiting    prometheus.Gauge
	kvUsage    prometheus.Gauge
	prompt     prometheus.Counter
	generation prometheus.Counter
	success    *prometheus.CounterVec
	ttft       prometheus.Observer
	itl        prometheus.Observer
	e2e        prometheus.Observer
	queue      prometheus.Observer
	promptHist prometheus.Observer
	genHist    prometheus.Observer
	http       *prometheus.CounterVec
}

var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	itlBuckets  = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}
	e2eBuckets  = []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}
	tokBuckets  = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000}
)

func newMetrics(model string, e *Engine) *metrics {
	reg := prometheus.NewRegistry()
	l := prometheus.Labels{"model_name": model, "engine": "0"}
	m := &metrics{reg: reg}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: l})
		reg.MustRegister(g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: l})
		reg.MustRegister(c)
		return c
	}
	hist := func(name, help string, b []float64) prometheus.Observer {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: b, ConstLabels: l})
		reg.MustRegister(h)
		return h
	}
	m.running = gauge("vllm:num_requests_running", "Number of requests in model execution batches.")
	m.waiting = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.")
	m.kvUsage = gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.")
	m.prompt = counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.")
	m.generation = counter("vllm:generation_tokens_total", "Number of generation tokens processed.")
	m.success = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vllm:request_success_total", Help: "Count of successfully processed requests.", ConstLabels: l}, []string{"finished_reason"})
	reg.MustRegister(m.success)
	for _, r := range []string{"stop", "length", "abort"} {
		m.success.WithLabelValues(r)
	}
	m.ttft = hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", ttftBuckets)
	m.itl = hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", itlBuckets)
	m.e2e = hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", e2eBuckets)
	m.queue = hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", e2eBuckets)
	m.promptHist = hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", tokBuckets)
	m.genHist = hist("vllm:request_generation_tokens", "Number of generation tokens processed.", tokBuckets)
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "vllm:cache_config_info", Help: "Information of the LLMEngine CacheConfig",
		ConstLabels: prometheus.Labels{"engine": "0", "block_size": "16", "cache_dtype": e.args.KVCacheDType, "enable_prefix_caching": "True",
			"gpu_memory_utilization": strconv.FormatFloat(e.args.GPUMemoryUtilization, 'g', -1, 64),
			"num_gpu_blocks":         strconv.Itoa(e.est.KVBlocks), "kv_cache_size_tokens": strconv.Itoa(e.est.KVTokens)}})
	info.Set(1)
	reg.MustRegister(info)
	m.http = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Total number of requests by method, status and handler."}, []string{"handler", "method", "status"})
	reg.MustRegister(m.http)
	return m
}

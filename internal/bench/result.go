package bench

import (
	"math"
	"slices"
	"time"
)

// Unknown is written where a fact of the measurement could not be learnt.
const Unknown = "unknown"

// Result is one stored benchmark: what was measured, how, and the samples.
type Result struct {
	ID      string    `json:"id"`
	Profile string    `json:"profile"`
	Time    time.Time `json:"time"`
	// What was measured: the profile's last deploy and its engine, each
	// Unknown when it could not be learnt.
	DeployID    string   `json:"deploy_id"`
	ConfigHash  string   `json:"config_hash"`
	VLLMVersion string   `json:"vllm_version"`
	GPUs        []string `json:"gpus"` // "2 × NVIDIA H100 80GB HBM3 (81559 MiB)", or [Unknown]
	Model       string   `json:"model"`
	Via         string   `json:"via"`    // "port 5001" or "gateway http://127.0.0.1:8080"
	URL         string   `json:"url"`    // the base URL, never a key
	Config      Config   `json:"config"` // the load that was generated
	Levels      []Level  `json:"levels"`
	Probes      *Probes  `json:"probes,omitempty"`
}

// Config is the load of a run, as stored.
type Config struct {
	Concurrency []int         `json:"concurrency"`
	Duration    time.Duration `json:"duration_ns"`
	Prompt      string        `json:"prompt_tokens"` // distribution, as given
	Output      string        `json:"output_tokens"`
	Dataset     string        `json:"dataset,omitempty"`
	IgnoreEOS   bool          `json:"ignore_eos"`
	Objective   Objective     `json:"objective"`
	Seed        uint64        `json:"seed"`
}

// Objective is a service-level objective: a request counts toward goodput
// when it succeeds within every bound that is set (zero: no bound).
type Objective struct {
	TTFT time.Duration `json:"ttft_ns,omitempty"`
	ITL  time.Duration `json:"itl_ns,omitempty"` // the request's mean inter-token latency
	E2E  time.Duration `json:"e2e_ns,omitempty"`
}

// Meets reports whether a sample meets the objective.
func (o Objective) Meets(s Sample) bool {
	return s.Err == "" && (o.TTFT == 0 || s.TTFT <= o.TTFT.Seconds()) &&
		(o.ITL == 0 || s.ITL <= o.ITL.Seconds()) && (o.E2E == 0 || s.E2E <= o.E2E.Seconds())
}

// Level is the measurement at one concurrency.
type Level struct {
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"` // from the first request to the last answer
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	// ErrorKinds counts errors by cause ("HTTP 500", "connection refused", ...).
	ErrorKinds   map[string]int `json:"error_kinds,omitempty"`
	RequestsPerS float64        `json:"requests_per_second"`
	OutputTokS   float64        `json:"output_tokens_per_second"`
	GoodputPerS  float64        `json:"goodput_requests_per_second"`
	TTFT         Dist           `json:"ttft_seconds"`
	ITL          Dist           `json:"itl_seconds"` // every inter-token gap
	E2E          Dist           `json:"e2e_seconds"`
	Samples      []Sample       `json:"samples"`
}

// Dist summarizes a latency distribution, in seconds.
type Dist struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
}

func dist(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	return Dist{Mean: mean(xs), P50: sortedPercentile(xs, 50), P90: sortedPercentile(xs, 90), P95: sortedPercentile(xs, 95), P99: sortedPercentile(xs, 99)}
}

// Sample is one request, in seconds from the level's start.
type Sample struct {
	Start float64 `json:"t"`
	TTFT  float64 `json:"ttft,omitempty"`
	ITL   float64 `json:"itl,omitempty"` // mean gap between tokens
	E2E   float64 `json:"e2e"`
	In    int     `json:"in,omitempty"`  // prompt tokens (the server's count when it gave one)
	Out   int     `json:"out,omitempty"` // output tokens
	Err   string  `json:"err,omitempty"`
}

// summarize fills a level's figures from its samples and gaps.
func summarize(l *Level, gaps []float64, obj Objective) {
	var ttft, e2e []float64
	out, good := 0, 0
	last := 0.0
	l.Requests, l.Errors = len(l.Samples), 0
	for _, s := range l.Samples {
		last = math.Max(last, s.Start+s.E2E)
		if s.Err != "" {
			l.Errors++
			if l.ErrorKinds == nil {
				l.ErrorKinds = map[string]int{}
			}
			l.ErrorKinds[s.Err]++
			continue
		}
		ttft = append(ttft, s.TTFT)
		e2e = append(e2e, s.E2E)
		out += s.Out
		if obj.Meets(s) {
			good++
		}
	}
	l.Seconds = last
	if last > 0 {
		l.RequestsPerS = float64(l.Requests-l.Errors) / last
		l.OutputTokS = float64(out) / last
		l.GoodputPerS = float64(good) / last
	}
	l.TTFT, l.E2E, l.ITL = dist(ttft), dist(e2e), dist(gaps)
}

package dashboard

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/serve"
	"github.com/vllmctl/vllmctl/internal/state"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Source is what the dashboard reads of the serve daemon (*serve.Server).
type Source interface {
	Snapshot() serve.Snapshot
	Project() *project.Project
	// Logs calls w with each line of a profile's engine log since a time
	// (a runtime may give more).
	Logs(ctx context.Context, profile string, since time.Time, w func(string)) error
}

// vLLM's metric names, newest first (FACTS.md §2.4; the same lists as
// internal/observability's).
var (
	kvNames      = []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"}
	runningName  = "vllm:num_requests_running"
	waitingName  = "vllm:num_requests_waiting"
	genTokenName = "vllm:generation_tokens_total"
	ttftName     = "vllm:time_to_first_token_seconds"
)

// Reading is one scrape of an engine's /metrics, each quantity summed over
// its series (data-parallel engines, finish reasons) — KV usage is the fullest
// engine's.
type Reading struct {
	KV        float64 // 0–1; HasKV false when neither name is published
	HasKV     bool
	Running   float64
	Waiting   float64
	GenTokens float64 // counter
	TTFTSum   float64 // histogram sum and count
	TTFTCount float64
}

// Parse reads Prometheus text exposition as vLLM publishes it. Where a
// release publishes both the old and the new name of a metric, the new one
// is read.
func Parse(r io.Reader) (Reading, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Reading{}, err
	}
	var out Reading
	for _, n := range kvNames {
		if f := fams[n]; f != nil && len(f.Metric) > 0 {
			out.HasKV = true
			for _, m := range f.Metric {
				out.KV = math.Max(out.KV, m.GetGauge().GetValue()+m.GetUntyped().GetValue())
			}
			break
		}
	}
	sum := func(name string) float64 {
		s := 0.0
		if f := fams[name]; f != nil {
			for _, m := range f.Metric { // one series per engine (and label set)
				s += m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			}
		}
		return s
	}
	out.Running = sum(runningName)
	out.Waiting = sum(waitingName)
	out.GenTokens = sum(genTokenName)
	if f := fams[ttftName]; f != nil {
		for _, m := range f.Metric {
			if h := m.GetHistogram(); h != nil {
				out.TTFTSum += h.GetSampleSum()
				out.TTFTCount += float64(h.GetSampleCount())
			}
		}
	}
	return out, nil
}

// Point is one sample of a profile. Rates are over the time since the
// previous answered scrape; a counter that went down (the engine restarted)
// counts from zero.
type Point struct {
	Time         time.Time `json:"time"`
	Up           bool      `json:"up"` // /metrics answered
	KV           float64   `json:"kv_usage"`
	HasKV        bool      `json:"has_kv"`
	Running      float64   `json:"running"`
	Waiting      float64   `json:"waiting"`
	TokensPerSec float64   `json:"tokens_per_second"` // generated tokens
	HasRate      bool      `json:"has_rate"`          // a previous scrape to compute rates from
	TTFT         float64   `json:"ttft_seconds"`      // mean time to first token of the requests first answered since the previous scrape
	HasTTFT      bool      `json:"has_ttft"`
}

// next computes the point of reading cur at t after prev (at pt).
func next(t time.Time, cur Reading, prev *Reading, pt time.Time) Point {
	p := Point{Time: t, Up: true, KV: cur.KV, HasKV: cur.HasKV, Running: cur.Running, Waiting: cur.Waiting}
	if prev == nil || !t.After(pt) {
		return p
	}
	dt := t.Sub(pt).Seconds()
	delta := func(c, o float64) float64 {
		if c < o {
			return c // reset
		}
		return c - o
	}
	p.HasRate = true
	p.TokensPerSec = delta(cur.GenTokens, prev.GenTokens) / dt
	if n := delta(cur.TTFTCount, prev.TTFTCount); n > 0 {
		s := cur.TTFTSum - prev.TTFTSum
		if cur.TTFTCount < prev.TTFTCount {
			s = cur.TTFTSum
		}
		p.TTFT, p.HasTTFT = s/n, true
	}
	return p
}

// LogLine is one line of a log tail, secrets masked.
type LogLine struct {
	Text  string     `json:"text"`
	Phase vllm.Phase `json:"phase,omitempty"` // a startup phase this line marks
	Fatal string     `json:"fatal,omitempty"` // a fatal signature's name
}

// SamplerOptions configure a Sampler; zero values take the defaults.
type SamplerOptions struct {
	// Interval between two rounds. Default: 5s.
	Interval time.Duration
	// Window is how far back the plots reach. Default: 1h.
	Window time.Duration
	// LogLines is how many log lines each profile keeps. Default: 40.
	LogLines int
	// Redact masks a project's secrets in log lines and deploy diagnoses.
	// Default: nothing masked.
	Redact func(*project.Project) *redact.Redactor
	// Client scrapes /metrics. Default: a client with a 2s timeout.
	Client *http.Client
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Sampler keeps the last Window of each profile's metrics, log tail and
// deploy records in memory. Its methods are safe for concurrent use.
type Sampler struct {
	src Source
	o   SamplerOptions

	mu      sync.RWMutex
	series  map[string]*Ring[Point]
	prev    map[string]prevReading
	logs    map[string][]LogLine
	deploys []state.Record // newest first
	rounds  int
}

type prevReading struct {
	r Reading
	t time.Time
}

// NewSampler returns a Sampler over src; it samples nothing until Run or Round.
func NewSampler(src Source, o SamplerOptions) *Sampler {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	if o.LogLines <= 0 {
		o.LogLines = 40
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 2 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sampler{src: src, o: o, series: map[string]*Ring[Point]{}, prev: map[string]prevReading{}, logs: map[string][]LogLine{}}
}

// Points is how many samples each profile's ring holds: Window / Interval.
func (s *Sampler) Points() int { return int(s.o.Window / s.o.Interval) }

// Run samples every Interval until ctx ends, the first round at once.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		s.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round takes one sample of every profile in the daemon's snapshot: its
// /metrics, its log tail, and the project's deploy records.
func (s *Sampler) Round(ctx context.Context) {
	snap := s.src.Snapshot()
	p := s.src.Project()
	var red *redact.Redactor
	if s.o.Redact != nil && p != nil {
		red = s.o.Redact(p)
	}
	type result struct {
		name string
		r    Reading
		err  error
		t    time.Time
		logs []LogLine
	}
	res := make([]result, len(snap.Profiles))
	var wg sync.WaitGroup
	for i, ps := range snap.Profiles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.scrape(ctx, ps.BaseURL+"/metrics")
			res[i] = result{name: ps.Profile, r: r, err: err, t: s.o.Now(), logs: s.tail(ctx, ps.Profile, red)}
		}()
	}
	wg.Wait()
	var recs []state.Record
	if p != nil {
		all, err := deploy.New(p, nil).Store.History("")
		if err == nil {
			recs = lastRecords(all, 50, red)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rounds++
	seen := map[string]bool{}
	for _, r := range res {
		seen[r.name] = true
		ring := s.series[r.name]
		if ring == nil {
			ring = NewRing[Point](s.Points())
			s.series[r.name] = ring
		}
		if r.err != nil {
			ring.Push(Point{Time: r.t})
			delete(s.prev, r.name)
		} else {
			var prev *Reading
			pr, ok := s.prev[r.name]
			if ok {
				prev = &pr.r
			}
			ring.Push(next(r.t, r.r, prev, pr.t))
			s.prev[r.name] = prevReading{r.r, r.t}
		}
		if r.logs != nil {
			s.logs[r.name] = r.logs
		}
	}
	for name := range s.series { // a profile removed from the project
		if !seen[name] {
			delete(s.series, name)
			delete(s.prev, name)
			delete(s.logs, name)
		}
	}
	if recs != nil {
		s.deploys = recs
	}
}

func (s *Sampler) scrape(ctx context.Context, url string) (Reading, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return Reading{}, err
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return Reading{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Reading{}, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return Parse(io.LimitReader(resp.Body, 8<<20))
}

// tail reads the last LogLines lines of a profile's log of the last 10
// minutes, masked and classified; nil when the log cannot be read.
func (s *Sampler) tail(ctx context.Context, profile string, red *redact.Redactor) []LogLine {
	ring := NewRing[string](s.o.LogLines)
	if err := s.src.Logs(ctx, profile, s.o.Now().Add(-10*time.Minute), ring.Push); err != nil {
		return nil
	}
	lines := ring.Values()
	out := make([]LogLine, 0, len(lines))
	for _, l := range lines {
		l = red.String(strings.TrimRight(l, "\r\n"))
		ll := LogLine{Text: l}
		switch info := vllm.ClassifyLine(l); info.Kind {
		case vllm.KindPhase:
			ll.Phase = info.Phase
		case vllm.KindFatal:
			ll.Fatal = info.Fatal
		}
		out = append(out, ll)
	}
	return out
}

// lastRecords are the newest n records, newest first, diagnoses masked.
func lastRecords(all []state.Record, n int, red *redact.Redactor) []state.Record {
	all = slices.Clone(all)
	slices.SortStableFunc(all, func(a, b state.Record) int { return b.Time.Compare(a.Time) })
	all = all[:min(n, len(all))]
	for i := range all {
		all[i].Diagnosis = red.String(all[i].Diagnosis)
		all[i].Trigger = red.String(all[i].Trigger)
	}
	return all
}

// Series returns a copy of a profile's samples, oldest first.
func (s *Sampler) Series(profile string) []Point {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r := s.series[profile]; r != nil {
		return r.Values()
	}
	return nil
}

// Logs returns a profile's last log tail.
func (s *Sampler) Logs(profile string) []LogLine {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.logs[profile]
}

// Deploys returns the newest deploy records, newest first.
func (s *Sampler) Deploys() []state.Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.deploys
}

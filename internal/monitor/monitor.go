// Package monitor follows one engine's startup: it classifies every log line
// with the shared pattern table of internal/vllm (phases, fatal signatures,
// warnings), probes readiness (/health, then /v1/models listing the served
// name, then one tiny completion), and decides Ready, Failed(cause) or
// Timeout. Stall timeouts restart at every new phase or progress line; there
// is no fixed total. Observations arrive through the interfaces it declares.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Event is one typed progress event, for the TTY, plain and JSON renderers.
type Event struct {
	Time    time.Time          `json:"time"`
	Profile string             `json:"profile,omitempty"`
	Kind    string             `json:"kind"` // phase, warning, fatal, probe, ready, failed, timeout, exit
	Phase   vllm.Phase         `json:"phase,omitempty"`
	Message string             `json:"message"`
	Values  map[string]float64 `json:"values,omitempty"`
}

// Prober checks an engine from outside.
type Prober interface {
	// Health returns nil when GET /health answers 200.
	Health(ctx context.Context) error
	// Models returns the ids GET /v1/models lists.
	Models(ctx context.Context) ([]string, error)
	// Complete sends one tiny completion for the model and returns its error.
	Complete(ctx context.Context, model string) error
}

// Exit tells that the engine process or container stopped.
type Exit struct {
	Code     int
	Restarts int // restart count when a restart policy brought it back
	Restart  bool
}

// Options configure a Watch.
type Options struct {
	Profile       string
	ServedName    string        // must appear in /v1/models
	Completion    bool          // send a tiny completion before declaring ready. Default (zero Options): see Defaults
	StallLoading  time.Duration // no progress for this long while loading or downloading. Default 30m
	StallOther    time.Duration // no progress for this long in other phases. Default 10m
	ProbeInterval time.Duration // while the API server is up. Default 100ms
	SlowProbe     time.Duration // before the API server line. Default 1s
	TailLines     int           // lines kept for the failure report. Default 30
	OnEvent       func(Event)   // nil: events are dropped
	Now           func() time.Time
}

// Defaults fills zero fields.
func (o *Options) defaults() {
	if o.StallLoading == 0 {
		o.StallLoading = 30 * time.Minute
	}
	if o.StallOther == 0 {
		o.StallOther = 10 * time.Minute
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = 100 * time.Millisecond
	}
	if o.SlowProbe == 0 {
		o.SlowProbe = time.Second
	}
	if o.TailLines == 0 {
		o.TailLines = 30
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnEvent == nil {
		o.OnEvent = func(Event) {}
	}
}

// Outcome classifies how a watch ended.
type Outcome string

// Outcomes.
const (
	Ready    Outcome = "ready"
	Failed   Outcome = "failed"  // a fatal line or an exit: an engine failure
	Timeout  Outcome = "timeout" // no progress for the stall timeout
	Canceled Outcome = "canceled"
)

// Result is the end of a watch.
type Result struct {
	Outcome    Outcome                `json:"outcome"`
	Phase      vllm.Phase             `json:"phase"` // the last phase reached
	Fatal      string                 `json:"fatal,omitempty"`
	Diagnosis  string                 `json:"diagnosis,omitempty"`
	Fix        string                 `json:"fix,omitempty"`
	RootCause  string                 `json:"root_cause,omitempty"` // the line that names the cause
	Values     map[string]float64     `json:"values,omitempty"`     // numbers of the root-cause line
	Tail       []string               `json:"tail,omitempty"`
	PhaseTimes map[vllm.Phase]float64 `json:"phase_seconds,omitempty"`
	Reported   map[string]float64     `json:"reported,omitempty"` // what vLLM printed: weights_gib, kv_gib, kv_tokens, concurrency
	ReadyAt    time.Time              `json:"ready_at,omitempty"`
	Elapsed    time.Duration          `json:"elapsed"`
	Exit       *Exit                  `json:"exit,omitempty"`
}

// Watch follows lines (closed when the log stream ends) and exits (an exit or
// restart of the engine) until the engine is ready, fails, stalls or ctx ends.
func Watch(ctx context.Context, lines <-chan string, exits <-chan Exit, probe Prober, o Options) Result {
	o.defaults()
	w := &watch{o: o, start: o.Now(), res: Result{PhaseTimes: map[vllm.Phase]float64{}, Reported: map[string]float64{}}}
	w.lastProgress = w.start
	w.phaseStart = w.start
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readyc := make(chan error, 1)
	var probing sync.WaitGroup
	probeTick := time.NewTicker(o.SlowProbe)
	defer probeTick.Stop()
	fast := false
	stall := time.NewTimer(o.StallOther)
	defer stall.Stop()
	probeBusy := false
	for {
		select {
		case <-ctx.Done():
			return w.finish(Canceled)
		case l, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			if w.line(l) {
				probing.Wait()
				return w.finish(Failed)
			}
			if w.progress {
				w.progress = false
				stall.Reset(w.stallFor())
			}
			if !fast && w.res.Phase != "" && vllm.PhaseIndex(w.res.Phase) >= vllm.PhaseIndex(vllm.PhaseAPIServer) {
				fast = true
				probeTick.Reset(o.ProbeInterval)
			}
		case x := <-exits:
			w.drain(lines)
			w.res.Exit = &x
			if w.res.Fatal == "" {
				if x.Restart {
					w.res.Diagnosis = fmt.Sprintf("the engine restarted (restart count %d) before it was ready: a crash loop", x.Restarts)
				} else {
					w.res.Diagnosis = fmt.Sprintf("the engine exited with status %d before it was ready", x.Code)
				}
				w.res.Fix = "read the last log lines below for the cause"
			}
			return w.finish(Failed)
		case <-stall.C:
			w.drain(lines)
			w.res.Diagnosis = fmt.Sprintf("no progress for %s in phase %s", w.stallFor(), orStart(w.res.Phase))
			if w.res.Phase == vllm.PhaseLoading || w.res.Phase == vllm.PhaseEngine {
				w.res.Fix = "a download prints nothing until it ends: check the network and that the Hugging Face cache volume is mounted and writable; raise the stall timeout for large models"
			} else {
				w.res.Fix = "the engine is stuck: a deadlock between workers, or shared memory too small (ipc: host)"
			}
			return w.finish(Timeout)
		case <-probeTick.C:
			if probeBusy {
				continue
			}
			probeBusy = true
			probing.Add(1)
			go func() {
				defer probing.Done()
				readyc <- w.probeOnce(ctx, probe)
			}()
		case err := <-readyc:
			probeBusy = false
			if err == nil {
				w.res.ReadyAt = o.Now()
				w.emit(Event{Kind: "ready", Message: "ready: /health, /v1/models and a completion answered"})
				return w.finish(Ready)
			}
			var pe *probeError
			if errors.As(err, &pe) && pe.stage != "health" {
				w.emit(Event{Kind: "probe", Message: err.Error()})
			}
		}
	}
}

type watch struct {
	o            Options
	start        time.Time
	res          Result
	tail         []string
	lastProgress time.Time
	phaseStart   time.Time
	progress     bool
}

func orStart(p vllm.Phase) vllm.Phase {
	if p == "" {
		return vllm.PhaseStart
	}
	return p
}

func (w *watch) stallFor() time.Duration {
	if w.res.Phase == vllm.PhaseLoading || w.res.Phase == vllm.PhaseEngine || w.res.Phase == vllm.PhaseArgs {
		return w.o.StallLoading
	}
	return w.o.StallOther
}

func (w *watch) emit(e Event) {
	e.Time = w.o.Now()
	e.Profile = w.o.Profile
	w.o.OnEvent(e)
}

func (w *watch) keep(l string) {
	w.tail = append(w.tail, l)
	if len(w.tail) > w.o.TailLines {
		w.tail = w.tail[len(w.tail)-w.o.TailLines:]
	}
}

// line handles one log line; true when it is fatal.
func (w *watch) line(l string) bool {
	w.keep(l)
	info := vllm.ClassifyLine(l)
	switch info.Kind {
	case vllm.KindFatal:
		// The root cause comes first; the generic wrapper must not replace it.
		if w.res.Fatal == "" || w.res.Fatal == "engine-failed" {
			f, _ := vllm.FatalByName(info.Fatal)
			w.res.Fatal, w.res.Diagnosis, w.res.Fix, w.res.RootCause, w.res.Values = info.Fatal, f.Diagnosis, f.Fix, info.Message, info.Values
			w.emit(Event{Kind: "fatal", Phase: w.res.Phase, Message: info.Message, Values: info.Values})
		}
		// Argument errors end the process at once. Engine-core errors end with
		// the front end's wrapper ("Engine core initialization failed"): the
		// core's own "EngineCore failed to start." comes before its traceback,
		// whose last line is the root cause, so watching goes on past it.
		switch info.Fatal {
		case "argument", "engine-dead", "parser", "tool-choice", "max-model-len":
			return true
		case "engine-failed":
			return strings.Contains(info.Message, "initialization failed")
		}
		return false
	case vllm.KindWarning:
		w.emit(Event{Kind: "warning", Phase: w.res.Phase, Message: info.Message})
	case vllm.KindPhase:
		w.progress = true
		if vllm.PhaseIndex(info.Phase) > vllm.PhaseIndex(w.res.Phase) {
			now := w.o.Now()
			if w.res.Phase != "" {
				w.res.PhaseTimes[w.res.Phase] += now.Sub(w.phaseStart).Seconds()
			}
			w.res.Phase, w.phaseStart = info.Phase, now
			w.emit(Event{Kind: "phase", Phase: info.Phase, Message: info.Message, Values: info.Values})
		}
		w.record(info)
	}
	return false
}

// record keeps the figures vLLM reports, for the summary next to the plan.
func (w *watch) record(info vllm.LineInfo) {
	switch info.Phase {
	case vllm.PhaseLoaded:
		if v, ok := info.Values["gib"]; ok {
			w.res.Reported["weights_gib"] = v
		}
	case vllm.PhaseProfiling:
		if v, ok := info.Values["gib"]; ok {
			if old, seen := w.res.Reported["kv_gib"]; !seen || v < old {
				w.res.Reported["kv_gib"] = v
			}
		}
	case vllm.PhaseKVCache:
		for k, name := range map[string]string{"tokens": "kv_tokens", "concurrency": "concurrency", "max_len": "max_model_len"} {
			if v, ok := info.Values[k]; ok {
				w.res.Reported[name] = v
			}
		}
	}
}

// drain reads lines already written (the cause often comes just before an exit).
func (w *watch) drain(lines <-chan string) {
	if lines == nil {
		return
	}
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return
			}
			w.line(l)
		case <-t.C:
			return
		}
	}
}

type probeError struct {
	stage string
	err   error
}

func (e *probeError) Error() string { return e.stage + ": " + e.err.Error() }

// probeOnce runs health, models, completion; it returns nil when all answered.
func (w *watch) probeOnce(ctx context.Context, p Prober) error {
	if p == nil {
		return &probeError{"health", errors.New("no prober")}
	}
	if err := p.Health(ctx); err != nil {
		return &probeError{"health", err}
	}
	ids, err := p.Models(ctx)
	if err != nil {
		return &probeError{"models", err}
	}
	if w.o.ServedName != "" && !slices.Contains(ids, w.o.ServedName) {
		return &probeError{"models", fmt.Errorf("/v1/models lists %s, not %q", strings.Join(ids, ", "), w.o.ServedName)}
	}
	if w.o.Completion {
		name := w.o.ServedName
		if name == "" && len(ids) > 0 {
			name = ids[0]
		}
		if err := p.Complete(ctx, name); err != nil {
			return &probeError{"completion", err}
		}
	}
	return nil
}

func (w *watch) finish(o Outcome) Result {
	now := w.o.Now()
	if w.res.Phase != "" {
		w.res.PhaseTimes[w.res.Phase] += now.Sub(w.phaseStart).Seconds()
	}
	w.res.Outcome = o
	w.res.Elapsed = now.Sub(w.start)
	w.res.Tail = append([]string(nil), w.tail...)
	switch o {
	case Failed:
		w.emit(Event{Kind: "failed", Phase: w.res.Phase, Message: w.res.Diagnosis})
	case Timeout:
		w.emit(Event{Kind: "timeout", Phase: w.res.Phase, Message: w.res.Diagnosis})
	}
	return w.res
}

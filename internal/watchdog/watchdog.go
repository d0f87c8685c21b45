// Package watchdog keeps engines answering beyond /health: every interval it
// probes /health (bounded by a short timeout) and a timed tiny completion, and
// a pure decision table turns the observation into a state and an action:
// warm-up while the engine boots (failures not counted until it first
// answers), healthy, unanswered (it answered in this run and now does not:
// counting), hung (unanswered HungAfter cycles in a row: restart; a frozen
// process or a paused container lands here, whatever its uptime), wedged
// (health 200 but the completion misses its deadline N times: restart), down,
// crash loop (restart count rising: no restart, diagnose from the logs),
// stalled boot (no startup phase for too long: report the likely cause) and
// port-forward loss (the engine answers inside its network but not on the
// published port). Restarts back off. It acts through a narrow Restarter.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// State of an engine.
type State string

// States.
const (
	Warmup  State = "warmup"
	Healthy State = "healthy"
	// Unanswered: the engine answered in this run and its /health now fails;
	// HungAfter such cycles in a row make it Hung.
	Unanswered State = "unanswered"
	Wedged     State = "wedged"
	Hung       State = "hung"
	Down       State = "down"
	CrashLoop  State = "crash-loop"
	Stalled    State = "stalled-boot"
	PortLost   State = "port-forward-lost"
	Unknown    State = "unknown"
)

// Action the watchdog takes.
type Action string

// Actions.
const (
	None    Action = "none"
	Restart Action = "restart"
	Report  Action = "report"
)

// Config is one profile's watchdog settings (x-vllmctl.watchdog). Zero values
// take the defaults in parentheses.
type Config struct {
	Interval time.Duration // between cycles (15s)
	// Warmup: after a (re)start, a completion that fails while /health answers
	// is not counted for this long, unless the engine answered already in this
	// run (2m). /health failures are never counted before the first answer of
	// a run (vLLM listens only once loaded) and always counted after it.
	Warmup             time.Duration
	CompletionDeadline time.Duration // the tiny completion must answer within (20s)
	// HealthTimeout bounds GET /health: a frozen engine accepts the connection
	// and never answers, and each cycle waits this long for it (5s, at most
	// Interval).
	HealthTimeout     time.Duration
	WedgeAfter        int           // deadline misses in a row before restart (3)
	HungAfter         int           // failing health cycles in a row before restart (3)
	StallAfter        time.Duration // no startup phase for this long while booting (15m)
	CrashLoopRestarts int           // restarts within CrashLoopWindow that make a crash loop (3)
	CrashLoopWindow   time.Duration // (10m)
	BackoffMin        time.Duration // first wait between restarts (30s)
	BackoffMax        time.Duration // (10m)
	NoRestart         bool          // report only
}

// Defaults fills zero fields.
func (c Config) Defaults() Config {
	d := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	d(&c.Interval, 15*time.Second)
	d(&c.HealthTimeout, min(5*time.Second, c.Interval))
	d(&c.Warmup, 2*time.Minute)
	d(&c.CompletionDeadline, 20*time.Second)
	d(&c.StallAfter, 15*time.Minute)
	d(&c.CrashLoopWindow, 10*time.Minute)
	d(&c.BackoffMin, 30*time.Second)
	d(&c.BackoffMax, 10*time.Minute)
	if c.WedgeAfter == 0 {
		c.WedgeAfter = 3
	}
	if c.HungAfter == 0 {
		c.HungAfter = 3
	}
	if c.CrashLoopRestarts == 0 {
		c.CrashLoopRestarts = 3
	}
	return c
}

// Observation is what one cycle saw.
type Observation struct {
	Time           time.Time
	Deployed       bool      // an instance exists
	Running        bool      // running or paused: it exists and was not stopped
	Paused         bool      // the runtime froze it (docker pause); it cannot answer
	Restarts       int       // the runtime's restart count
	StartedAt      time.Time // of the current run
	HealthErr      error     // GET /health on the published port
	InNetworkErr   error     // GET /health from inside the engine's network; nil when not checked
	InNetworkKnown bool
	CompletionErr  error
	CompletionTime time.Duration
	LastPhaseAt    time.Time // last startup phase line seen (booting)
	Cause          string    // diagnosis from the log tail, when known
}

// Status is the memory of the decision table for one engine.
type Status struct {
	State        State         `json:"state"`
	Since        time.Time     `json:"since"`
	Reason       string        `json:"reason"`
	WedgeMisses  int           `json:"wedge_misses"`
	HealthFails  int           `json:"health_fails"`
	Restarts     []time.Time   `json:"restarts_seen"` // runtime restart observations, for crash-loop detection
	LastRestarts int           `json:"-"`
	OurRestarts  int           `json:"watchdog_restarts"`
	NextRestart  time.Time     `json:"next_restart_not_before,omitempty"`
	Backoff      time.Duration `json:"backoff"`
	// EverHealthy: the engine answered /health and a completion in the
	// current run (since RunStartedAt).
	EverHealthy  bool      `json:"ever_healthy"`
	RunStartedAt time.Time `json:"run_started_at"`
}

// ErrPaused is the health failure of an engine its runtime froze (docker pause).
var ErrPaused = errors.New("the engine is paused (docker pause): it cannot answer until unpaused")

// Decide is the pure decision table: it updates st from obs and says what to do.
func Decide(c Config, st Status, obs Observation) (Status, Action) {
	c = c.Defaults()
	now := obs.Time
	set := func(s State, reason string) {
		if st.State != s {
			st.State, st.Since = s, now
		}
		st.Reason = reason
	}
	// Restart counts rising: a crash loop is diagnosed, not fed.
	if obs.Restarts > st.LastRestarts {
		for i := st.LastRestarts; i < obs.Restarts; i++ {
			st.Restarts = append(st.Restarts, now)
		}
	}
	st.LastRestarts = obs.Restarts
	recent := st.Restarts[:0:0]
	for _, t := range st.Restarts {
		if now.Sub(t) <= c.CrashLoopWindow {
			recent = append(recent, t)
		}
	}
	st.Restarts = recent
	if len(recent) >= c.CrashLoopRestarts && !st.everHealthySince(recent[0]) {
		cause := obs.Cause
		if cause == "" {
			cause = "see vllmctl logs"
		}
		set(CrashLoop, fmt.Sprintf("%d restarts in %s: %s", len(recent), c.CrashLoopWindow, cause))
		return st, Report
	}
	if !obs.Deployed {
		set(Down, "not deployed")
		return st, None
	}
	if !obs.Running {
		set(Down, "the engine is not running")
		return st.restart(c, now)
	}
	if !obs.StartedAt.Equal(st.RunStartedAt) {
		// A new run (restarted by the runtime, by us or by hand): what the
		// previous one answered says nothing about this one.
		st.RunStartedAt = obs.StartedAt
		st.EverHealthy, st.HealthFails, st.WedgeMisses = false, 0, 0
	}
	booting := now.Sub(obs.StartedAt) < c.Warmup
	if obs.Paused {
		// Probing a frozen engine only waits out timeouts: it cannot answer.
		obs.HealthErr, obs.InNetworkKnown = ErrPaused, false
	}
	if obs.HealthErr != nil {
		if obs.InNetworkKnown && obs.InNetworkErr == nil {
			set(PortLost, "the engine answers inside its network but not on the published port: "+obs.HealthErr.Error())
			return st.restart(c, now)
		}
		if !st.EverHealthy {
			if !obs.LastPhaseAt.IsZero() && now.Sub(obs.LastPhaseAt) > c.StallAfter {
				cause := obs.Cause
				if cause == "" {
					cause = "a download with no progress, an empty or unwritable Hugging Face cache mount, or a deadlock between workers"
				}
				set(Stalled, fmt.Sprintf("no startup progress for %s: %s", now.Sub(obs.LastPhaseAt).Round(time.Second), cause))
				return st, Report
			}
			set(Warmup, "starting")
			return st, None
		}
		// It answered in this run and now does not: frozen (SIGSTOP, docker
		// pause), deadlocked or overloaded; counted whatever its uptime.
		st.HealthFails++
		if st.HealthFails >= c.HungAfter {
			set(Hung, fmt.Sprintf("/health failed %d cycles in a row after answering: %v", st.HealthFails, obs.HealthErr))
			return st.restart(c, now)
		}
		set(Unanswered, fmt.Sprintf("/health failed (%d of %d before a restart): %v", st.HealthFails, c.HungAfter, obs.HealthErr))
		return st, None
	}
	st.HealthFails = 0
	if obs.CompletionErr != nil || obs.CompletionTime > c.CompletionDeadline {
		if booting && !st.EverHealthy {
			set(Warmup, "starting")
			return st, None
		}
		st.WedgeMisses++
		if st.WedgeMisses >= c.WedgeAfter {
			why := fmt.Sprintf("a 4-token completion missed its %s deadline %d times while /health said 200", c.CompletionDeadline, st.WedgeMisses)
			set(Wedged, why)
			return st.restart(c, now)
		}
		return st, None
	}
	st.WedgeMisses = 0
	st.EverHealthy = true
	st.Backoff = 0
	set(Healthy, "answering")
	return st, None
}

func (st Status) everHealthySince(t time.Time) bool {
	return st.EverHealthy && st.Since.After(t) && st.State == Healthy
}

// restart returns Restart unless the backoff window holds it back.
func (st Status) restart(c Config, now time.Time) (Status, Action) {
	if c.NoRestart {
		return st, Report
	}
	if now.Before(st.NextRestart) {
		return st, Report
	}
	if st.Backoff == 0 {
		st.Backoff = c.BackoffMin
	} else {
		st.Backoff = min(2*st.Backoff, c.BackoffMax)
	}
	st.NextRestart = now.Add(st.Backoff)
	st.OurRestarts++
	st.WedgeMisses, st.HealthFails = 0, 0
	st.EverHealthy = false
	return st, Restart
}

// Probe bounds one observation.
type Probe struct {
	Health     time.Duration // GET /health must answer within
	Completion time.Duration // the tiny completion must answer within
}

// Observer takes one observation of a profile within the bounds of p.
type Observer interface {
	Observe(ctx context.Context, profile string, p Probe) Observation
}

// Restarter restarts a profile's engine.
type Restarter interface {
	Restart(ctx context.Context, profile, reason string) error
}

// Transition is reported on every state change and action.
type Transition struct {
	Profile string
	From    State
	To      State
	Action  Action
	Reason  string
	Time    time.Time
}

// Watchdog runs the table for several profiles.
type Watchdog struct {
	Configs   map[string]Config
	Observer  Observer
	Restarter Restarter
	Log       *slog.Logger
	OnChange  func(Transition) // metrics, history
	Now       func() time.Time

	mu     sync.Mutex
	status map[string]Status
}

// Status returns the current state of a profile.
func (w *Watchdog) Status(profile string) Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status[profile]
}

// Cycle observes and decides once for every profile.
func (w *Watchdog) Cycle(ctx context.Context) {
	w.cycle(ctx, func(string) bool { return true })
}

// cycle observes and decides once for the profiles due says, all at once.
func (w *Watchdog) cycle(ctx context.Context, due func(profile string) bool) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w.mu.Lock()
	if w.status == nil {
		w.status = map[string]Status{}
	}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for profile, cfg := range w.Configs {
		if !due(profile) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg = cfg.Defaults()
			obs := w.Observer.Observe(ctx, profile, Probe{Health: cfg.HealthTimeout, Completion: cfg.CompletionDeadline})
			obs.Time = now()
			w.mu.Lock()
			prev := w.status[profile]
			w.mu.Unlock()
			next, act := Decide(cfg, prev, obs)
			w.mu.Lock()
			w.status[profile] = next
			w.mu.Unlock()
			if next.State != prev.State || act == Restart {
				t := Transition{Profile: profile, From: prev.State, To: next.State, Action: act, Reason: next.Reason, Time: obs.Time}
				log.Info("watchdog transition", "profile", profile, "from", string(prev.State), "to", string(next.State), "action", string(act), "reason", next.Reason)
				if w.OnChange != nil {
					w.OnChange(t)
				}
			}
			if act == Restart && w.Restarter != nil {
				if err := w.Restarter.Restart(ctx, profile, next.Reason); err != nil {
					log.Warn("watchdog restart failed", "profile", profile, "err", err)
				}
			}
		}()
	}
	wg.Wait()
}

// Run cycles until ctx ends: it wakes at the smallest of the profiles'
// intervals and observes each profile whose own interval has passed since its
// last observation began, so HungAfter and WedgeAfter count that profile's
// cycles.
func (w *Watchdog) Run(ctx context.Context) {
	tick := 15 * time.Second
	for _, c := range w.Configs {
		tick = min(tick, c.Defaults().Interval)
	}
	last := map[string]time.Time{}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		start := time.Now()
		w.cycle(ctx, func(profile string) bool {
			at, seen := last[profile]
			// A tick may come a little early: within a tenth of the tick counts as due.
			if seen && start.Sub(at) < w.Configs[profile].Defaults().Interval-tick/10 {
				return false
			}
			last[profile] = start
			return true
		})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

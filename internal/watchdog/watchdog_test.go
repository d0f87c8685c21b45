package watchdog

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func run(t *testing.T, c Config, obs []Observation) ([]State, []Action) {
	t.Helper()
	var st Status
	var states []State
	var acts []Action
	for _, o := range obs {
		var a Action
		st, a = Decide(c, st, o)
		states = append(states, st.State)
		acts = append(acts, a)
	}
	return states, acts
}

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

var errRefused = errors.New("connection refused")

func TestDecisionTable(t *testing.T) {
	c := Config{Warmup: 2 * time.Minute, WedgeAfter: 2, HungAfter: 2, CompletionDeadline: 10 * time.Second, StallAfter: 5 * time.Minute, CrashLoopRestarts: 3}
	up := func(min int) Observation {
		return Observation{Time: at(min), Deployed: true, Running: true, StartedAt: t0, CompletionTime: time.Second}
	}
	tests := []struct {
		name   string
		obs    []Observation
		states []State
		acts   []Action
	}{
		{"warm-up failures are not counted, then healthy", []Observation{
			{Time: at(0), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused, LastPhaseAt: at(0)},
			{Time: at(1), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused, LastPhaseAt: at(1)},
			up(3)},
			[]State{Warmup, Warmup, Healthy}, []Action{None, None, None}},
		{"wedge: health 200, completions miss their deadline twice", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: t0, CompletionTime: 30 * time.Second},
			{Time: at(5), Deployed: true, Running: true, StartedAt: t0, CompletionErr: context.DeadlineExceeded}},
			[]State{Healthy, Healthy, Wedged}, []Action{None, None, Restart}},
		{"hung: health fails two cycles after being healthy", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused},
			{Time: at(5), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused}},
			[]State{Healthy, Unanswered, Hung}, []Action{None, None, Restart}},
		{"frozen inside the warm-up window after answering: hung, not warm-up", []Observation{
			{Time: t0.Add(20 * time.Second), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused, LastPhaseAt: t0},
			{Time: t0.Add(35 * time.Second), Deployed: true, Running: true, StartedAt: t0, CompletionTime: time.Second},
			{Time: t0.Add(50 * time.Second), Deployed: true, Running: true, StartedAt: t0, HealthErr: context.DeadlineExceeded},
			{Time: t0.Add(65 * time.Second), Deployed: true, Running: true, StartedAt: t0, HealthErr: context.DeadlineExceeded}},
			[]State{Warmup, Healthy, Unanswered, Hung}, []Action{None, None, None, Restart}},
		{"answering again before hung_after resets the count", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused},
			up(5),
			{Time: at(6), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused}},
			[]State{Healthy, Unanswered, Healthy, Unanswered}, []Action{None, None, None, None}},
		{"paused by the runtime after answering: hung without probing", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, Paused: true, StartedAt: t0},
			{Time: at(5), Deployed: true, Running: true, Paused: true, StartedAt: t0, InNetworkKnown: true}},
			[]State{Healthy, Unanswered, Hung}, []Action{None, None, Restart}},
		{"a new run boots again: its errRefused port is warm-up, not hung", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: at(4), HealthErr: errRefused, LastPhaseAt: at(4)},
			{Time: at(5), Deployed: true, Running: true, StartedAt: at(4), HealthErr: errRefused, LastPhaseAt: at(5)},
			{Time: at(6), Deployed: true, Running: true, StartedAt: at(4), HealthErr: errRefused, LastPhaseAt: at(6)}},
			[]State{Healthy, Warmup, Warmup, Warmup}, []Action{None, None, None, None}},
		{"port-forward loss: inside the network it answers", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused, InNetworkKnown: true}},
			[]State{Healthy, PortLost}, []Action{None, Restart}},
		{"stalled boot: no phase for 5 minutes", []Observation{
			{Time: at(1), Deployed: true, Running: true, StartedAt: t0, HealthErr: errRefused, LastPhaseAt: at(0)},
			{Time: at(7), Deployed: true, Running: true, StartedAt: at(0), HealthErr: errRefused, LastPhaseAt: at(1), Cause: "empty Hugging Face cache mount"}},
			[]State{Warmup, Stalled}, []Action{None, Report}},
		{"crash loop: restart count rising, no restart from us", []Observation{
			{Time: at(1), Deployed: true, Running: false, Restarts: 1},
			{Time: at(2), Deployed: true, Running: false, Restarts: 2},
			{Time: at(3), Deployed: true, Running: false, Restarts: 3, Cause: "CUDA out of memory at boot"}},
			[]State{Down, Down, CrashLoop}, []Action{Restart, Restart, Report}},
		{"down: not running, restarted with backoff", []Observation{
			{Time: at(0), Deployed: true, Running: false},
			{Time: at(0).Add(10 * time.Second), Deployed: true, Running: false}},
			[]State{Down, Down}, []Action{Restart, Report}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states, acts := run(t, c, tt.obs)
			for i := range tt.states {
				if states[i] != tt.states[i] || acts[i] != tt.acts[i] {
					t.Fatalf("step %d: got %s/%s, want %s/%s (all %v %v)", i, states[i], acts[i], tt.states[i], tt.acts[i], states, acts)
				}
			}
		})
	}
}

func TestBackoffGrows(t *testing.T) {
	c := Config{BackoffMin: time.Minute, BackoffMax: 4 * time.Minute}
	var st Status
	var waits []time.Duration
	now := t0
	for i := 0; i < 4; i++ {
		var a Action
		st, a = Decide(c, st, Observation{Time: now, Deployed: true, Running: false})
		if a != Restart {
			t.Fatalf("cycle %d: %s", i, a)
		}
		waits = append(waits, st.Backoff)
		now = st.NextRestart
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("backoffs %v, want %v", waits, want)
		}
	}
}

type fakeObs struct {
	mu  sync.Mutex
	obs Observation
}

func (f *fakeObs) Observe(context.Context, string, Probe) Observation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.obs
}

type fakeRestarter struct{ n int }

func (f *fakeRestarter) Restart(context.Context, string, string) error { f.n++; return nil }

// TestLoopRestartsWedge runs the loop on fake time: a wedged engine is restarted once.
func TestLoopRestartsWedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &fakeObs{obs: Observation{Deployed: true, Running: true, StartedAt: time.Now().Add(-time.Hour), CompletionErr: context.DeadlineExceeded}}
		r := &fakeRestarter{}
		var trans []Transition
		w := &Watchdog{Configs: map[string]Config{"a": {Interval: 10 * time.Second, WedgeAfter: 3, BackoffMin: time.Hour}}, Observer: o, Restarter: r,
			OnChange: func(tr Transition) { trans = append(trans, tr) }}
		ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
		defer cancel()
		w.Run(ctx)
		if r.n != 1 || w.Status("a").State != Wedged {
			t.Fatalf("restarts %d, state %s, transitions %+v", r.n, w.Status("a").State, trans)
		}
	})
}

// frozenEngine answers like an engine until frozen; then, as a SIGSTOPped
// process does, it accepts the connection and never answers: /health runs
// into the probe's timeout.
type frozenEngine struct {
	mu        sync.Mutex
	started   time.Time
	frozen    bool
	probes    []Probe
	restarted []time.Time
}

func (f *frozenEngine) Observe(ctx context.Context, _ string, p Probe) Observation {
	f.mu.Lock()
	frozen, started := f.frozen, f.started
	f.probes = append(f.probes, p)
	f.mu.Unlock()
	o := Observation{Deployed: true, Running: true, StartedAt: started}
	if frozen {
		select {
		case <-time.After(p.Health):
		case <-ctx.Done():
		}
		o.HealthErr = context.DeadlineExceeded
		return o
	}
	o.CompletionTime = 50 * time.Millisecond
	return o
}

func (f *frozenEngine) Restart(context.Context, string, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarted = append(f.restarted, time.Now())
	f.frozen, f.started = false, time.Now()
	return nil
}

// TestFrozenEngineRestartedAfterHungAfterCycles runs the loop with the default
// settings on fake time: an engine healthy 20 s after its start (well inside
// the 2 m warm-up) freezes; it goes healthy → unanswered → hung and is
// restarted once, within HungAfter × Interval (+ one health timeout) of the
// freeze, and is healthy again afterwards.
func TestFrozenEngineRestartedAfterHungAfterCycles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		eng := &frozenEngine{started: start.Add(-20 * time.Second)}
		var mu sync.Mutex
		var trans []Transition
		w := &Watchdog{Configs: map[string]Config{"a": {}}, Observer: eng, Restarter: eng,
			OnChange: func(tr Transition) { mu.Lock(); trans = append(trans, tr); mu.Unlock() }}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		time.Sleep(16 * time.Second) // fake time: two healthy cycles (0 s, 15 s)
		if st := w.Status("a"); st.State != Healthy {
			t.Fatalf("before the freeze: %s (%s)", st.State, st.Reason)
		}
		eng.mu.Lock()
		eng.frozen = true
		frozeAt := time.Now()
		eng.mu.Unlock()
		time.Sleep(2 * time.Minute)
		cancel()
		<-done
		eng.mu.Lock()
		defer eng.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		if len(eng.restarted) != 1 {
			t.Fatalf("restarts at %v, want one; transitions %+v", eng.restarted, trans)
		}
		c := Config{}.Defaults()
		took := eng.restarted[0].Sub(frozeAt)
		if took > time.Duration(c.HungAfter)*c.Interval+c.HealthTimeout || took < time.Duration(c.HungAfter-1)*c.Interval {
			t.Fatalf("restarted %s after the freeze, want about %d × %s", took, c.HungAfter, c.Interval)
		}
		var path []State
		for _, tr := range trans {
			path = append(path, tr.To)
		}
		want := []State{Healthy, Unanswered, Hung, Healthy}
		if len(path) != len(want) {
			t.Fatalf("states %v, want %v", path, want)
		}
		for i := range want {
			if path[i] != want[i] {
				t.Fatalf("states %v, want %v", path, want)
			}
		}
		if trans[2].Action != Restart {
			t.Fatalf("hung without a restart: %+v", trans[2])
		}
		for _, p := range eng.probes {
			if p.Health != 5*time.Second || p.Completion != 20*time.Second {
				t.Fatalf("probe bounds %+v, want 5s health, 20s completion", p)
			}
		}
		t.Logf("frozen → restart: %s (interval %s, hung_after %d, health timeout %s)", took, c.Interval, c.HungAfter, c.HealthTimeout)
	})
}

// TestRunHonoursEachProfilesInterval: with one profile on 1 s and one on the
// default 15 s, the second is observed every 15 s, not every second.
func TestRunHonoursEachProfilesInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast, slow := &countingObs{}, &countingObs{}
		w := &Watchdog{Configs: map[string]Config{"fast": {Interval: time.Second}, "slow": {}},
			Observer: byProfile{"fast": fast, "slow": slow}}
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second-time.Millisecond)
		defer cancel()
		w.Run(ctx)
		if fast.n.Load() != 60 || slow.n.Load() != 4 {
			t.Fatalf("observations in 60 s: fast %d (want 60), slow %d (want 4)", fast.n.Load(), slow.n.Load())
		}
	})
}

type countingObs struct{ n atomic.Int64 }

func (c *countingObs) Observe(context.Context, string, Probe) Observation {
	c.n.Add(1)
	return Observation{Deployed: true, Running: true, CompletionTime: time.Millisecond}
}

type byProfile map[string]*countingObs

func (b byProfile) Observe(ctx context.Context, profile string, p Probe) Observation {
	return b[profile].Observe(ctx, profile, p)
}

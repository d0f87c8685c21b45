package watchdog

import (
	"context"
	"errors"
	"sync"
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

var refused = errors.New("connection refused")

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
			{Time: at(0), Deployed: true, Running: true, StartedAt: t0, HealthErr: refused, LastPhaseAt: at(0)},
			{Time: at(1), Deployed: true, Running: true, StartedAt: t0, HealthErr: refused, LastPhaseAt: at(1)},
			up(3)},
			[]State{Warmup, Warmup, Healthy}, []Action{None, None, None}},
		{"wedge: health 200, completions miss their deadline twice", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: t0, CompletionTime: 30 * time.Second},
			{Time: at(5), Deployed: true, Running: true, StartedAt: t0, CompletionErr: context.DeadlineExceeded}},
			[]State{Healthy, Healthy, Wedged}, []Action{None, None, Restart}},
		{"hung: health fails two cycles after being healthy", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: t0, HealthErr: refused},
			{Time: at(5), Deployed: true, Running: true, StartedAt: t0, HealthErr: refused}},
			[]State{Healthy, Healthy, Hung}, []Action{None, None, Restart}},
		{"port-forward loss: inside the network it answers", []Observation{
			up(3),
			{Time: at(4), Deployed: true, Running: true, StartedAt: t0, HealthErr: refused, InNetworkKnown: true}},
			[]State{Healthy, PortLost}, []Action{None, Restart}},
		{"stalled boot: no phase for 5 minutes", []Observation{
			{Time: at(1), Deployed: true, Running: true, StartedAt: t0, HealthErr: refused, LastPhaseAt: at(0)},
			{Time: at(7), Deployed: true, Running: true, StartedAt: at(0), HealthErr: refused, LastPhaseAt: at(1), Cause: "empty Hugging Face cache mount"}},
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

func (f *fakeObs) Observe(context.Context, string, time.Duration) Observation {
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

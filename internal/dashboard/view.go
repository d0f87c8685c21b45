package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/serve"
	"github.com/vllmctl/vllmctl/internal/state"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// View is what the page shows, and what /dashboard/data.json returns.
type View struct {
	Time        time.Time        `json:"time"`
	Profiles    []ProfileView    `json:"profiles"`
	Transitions []TransitionView `json:"transitions"` // newest first
	Deploys     []DeployView     `json:"deploys"`     // newest first
	Sampling    string           `json:"sampling"`    // "every 5s, last 1h"
	Keyed       bool             `json:"-"`           // the page is behind gateway keys
}

// ProfileView is one profile.
type ProfileView struct {
	Name       string    `json:"profile"`
	Models     []string  `json:"models"`
	Ready      bool      `json:"ready"`
	Reason     string    `json:"reason,omitempty"`
	Since      time.Time `json:"since"`
	OnDemand   bool      `json:"on_demand,omitempty"`
	Watchdog   string    `json:"watchdog"` // a watchdog state, or "not watched"
	WDReason   string    `json:"watchdog_reason,omitempty"`
	WDSince    time.Time `json:"watchdog_since,omitzero"`
	Tone       string    `json:"tone"` // ok, warn, bad, idle: the badge's colour (the text says it too)
	Latest     *Point    `json:"latest,omitempty"`
	Plots      []Plot    `json:"-"`
	Logs       []LogLine `json:"logs"`
	SinceText  string    `json:"-"`
	WDSinceTxt string    `json:"-"`
}

// StateText is the one line a screen reader hears on a change.
func (p ProfileView) StateText() string {
	r := "ready"
	if !p.Ready {
		r = "not ready"
	}
	return fmt.Sprintf("%s: %s, watchdog %s", p.Name, r, p.Watchdog)
}

// TransitionView is one watchdog transition.
type TransitionView struct {
	Time    time.Time `json:"time"`
	Ago     string    `json:"-"`
	Profile string    `json:"profile"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Action  string    `json:"action"`
	Reason  string    `json:"reason"`
	Tone    string    `json:"tone"`
}

// DeployView is one deploy record.
type DeployView struct {
	Time      time.Time `json:"time"`
	Ago       string    `json:"-"`
	Profile   string    `json:"profile"`
	Outcome   string    `json:"outcome"`
	ReadySecs float64   `json:"time_to_ready_seconds,omitempty"`
	Ready     string    `json:"-"` // "42s", or "–"
	Trigger   string    `json:"trigger,omitempty"`
	Diagnosis string    `json:"diagnosis,omitempty"`
	Tone      string    `json:"tone"`
}

// tone of a watchdog state.
func tone(s watchdog.State) string {
	switch s {
	case watchdog.Healthy:
		return "ok"
	case watchdog.Warmup, watchdog.Unanswered, watchdog.Stalled, watchdog.Unknown:
		return "warn"
	case "":
		return "idle"
	}
	return "bad" // wedged, hung, down, crash-loop, port-forward-lost
}

func outcomeTone(o state.Outcome) string {
	switch o {
	case state.Ready:
		return "ok"
	case state.Deploying, state.Canceled, state.RolledBack:
		return "warn"
	}
	return "bad"
}

// ago is a short relative time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func secs(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.0f ms", v*1000)
	case v < 120:
		return fmt.Sprintf("%.1f s", v)
	}
	return (time.Duration(v) * time.Second).String()
}

// build assembles the view of snap and the sampler's memory that key may see.
func build(snap serve.Snapshot, s *Sampler, key *gateway.Key, now time.Time, redact func(string) string) View {
	v := View{Time: now, Profiles: []ProfileView{}, Transitions: []TransitionView{}, Deploys: []DeployView{},
		Sampling: fmt.Sprintf("every %s, last %s", s.o.Interval, strings.TrimSuffix(strings.TrimSuffix(s.o.Window.String(), "0s"), "0m"))}
	visible := map[string]bool{}
	for _, ps := range snap.Profiles {
		if !allows(key, ps.Models) {
			continue
		}
		visible[ps.Profile] = true
		pv := ProfileView{Name: ps.Profile, Models: ps.Models, Ready: ps.Ready, Reason: redact(ps.Reason), Since: ps.Since, OnDemand: ps.OnDemand,
			Watchdog: "not watched", Tone: "idle", SinceText: ago(now, ps.Since)}
		if !ps.Ready {
			pv.Tone = "warn"
		}
		if w := ps.Watchdog; w != nil {
			pv.Watchdog, pv.WDReason, pv.WDSince, pv.Tone = string(w.State), redact(w.Reason), w.Since, tone(w.State)
			pv.WDSinceTxt = ago(now, w.Since)
		}
		pts := s.Series(ps.Profile)
		for i := len(pts) - 1; i >= 0; i-- {
			if pts[i].Up {
				p := pts[i]
				pv.Latest = &p
				break
			}
		}
		w := s.o.Window
		pv.Plots = []Plot{
			plot("KV cache usage", pts, now, w, 1, func(p Point) (float64, bool) { return p.KV, p.Up && p.HasKV }, func(x float64) string { return fmt.Sprintf("%.0f %%", 100*x) }),
			plot("Requests running", pts, now, w, 0, func(p Point) (float64, bool) { return p.Running, p.Up }, func(x float64) string { return fmt.Sprintf("%.0f", x) }),
			plot("Requests waiting", pts, now, w, 0, func(p Point) (float64, bool) { return p.Waiting, p.Up }, func(x float64) string { return fmt.Sprintf("%.0f", x) }),
			plot("Generated tokens/s", pts, now, w, 0, func(p Point) (float64, bool) { return p.TokensPerSec, p.Up && p.HasRate }, func(x float64) string { return fmt.Sprintf("%.1f", x) }),
			plot("Time to first token (mean)", pts, now, w, 0, func(p Point) (float64, bool) { return p.TTFT, p.Up && p.HasTTFT }, secs),
		}
		pv.Logs = s.Logs(ps.Profile)
		if pv.Logs == nil {
			pv.Logs = []LogLine{}
		}
		v.Profiles = append(v.Profiles, pv)
	}
	for i := len(snap.Transitions) - 1; i >= 0 && len(v.Transitions) < 20; i-- {
		t := snap.Transitions[i]
		if !visible[t.Profile] {
			continue
		}
		v.Transitions = append(v.Transitions, TransitionView{Time: t.Time, Ago: ago(now, t.Time), Profile: t.Profile, From: string(t.From), To: string(t.To),
			Action: string(t.Action), Reason: redact(t.Reason), Tone: tone(t.To)})
	}
	for _, r := range s.Deploys() {
		if !visible[r.Profile] || len(v.Deploys) >= 10 {
			continue
		}
		v.Deploys = append(v.Deploys, deployView(now, r))
	}
	return v
}

func deployView(now time.Time, r state.Record) DeployView {
	d := DeployView{Time: r.Time, Ago: ago(now, r.Time), Profile: r.Profile, Outcome: string(r.Outcome), ReadySecs: r.ReadySecs, Ready: "–",
		Trigger: r.Trigger, Diagnosis: r.Diagnosis, Tone: outcomeTone(r.Outcome)}
	if r.ReadySecs > 0 {
		d.Ready = secs(r.ReadySecs)
	}
	if d.Trigger == "" {
		d.Trigger = "vllmctl up"
	}
	return d
}

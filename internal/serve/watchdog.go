package serve

import (
	"encoding/json"
	"time"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// NewWatchdog returns a watchdog over every engine profile of the project as
// last loaded, tuned by x-vllmctl.watchdog, observing and restarting through
// s. Its transitions go to the metrics and to Snapshot. Run it, or Cycle it
// once with Restarter set to nil to only report.
func (s *Server) NewWatchdog() *watchdog.Watchdog {
	wd := &watchdog.Watchdog{Configs: watchdogConfigs(s.Project()), Observer: s, Restarter: s, Log: s.log, OnChange: s.transition}
	s.mu.Lock()
	s.wd = wd
	s.mu.Unlock()
	return wd
}

// transition records a watchdog transition for the metrics and Snapshot.
func (s *Server) transition(t watchdog.Transition) {
	if s.o.Metrics != nil {
		s.o.Metrics.Transition(t.Profile, string(t.From), string(t.To), string(t.Action))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.transitions) == maxTransitions {
		s.transitions = append(s.transitions[:0], s.transitions[1:]...)
	}
	s.transitions = append(s.transitions, t)
}

// watchdogConfigs reads x-vllmctl.watchdog of every engine.
func watchdogConfigs(p *project.Project) map[string]watchdog.Config {
	out := map[string]watchdog.Config{}
	for _, pr := range p.Profiles {
		for _, eng := range pr.Engines() {
			var c watchdog.Config
			if eng.Ext != nil && len(eng.Ext.Watchdog) > 0 {
				var raw struct {
					Interval           string `json:"interval"`
					Warmup             string `json:"warmup"`
					CompletionDeadline string `json:"completion_deadline"`
					HealthTimeout      string `json:"health_timeout"`
					StallAfter         string `json:"stall_after"`
					WedgeAfter         int    `json:"wedge_after"`
					HungAfter          int    `json:"hung_after"`
					Restart            *bool  `json:"restart"`
				}
				_ = json.Unmarshal(eng.Ext.Watchdog, &raw) // shapes are checked against the schema by check
				c.Interval, _ = time.ParseDuration(raw.Interval)
				c.Warmup, _ = time.ParseDuration(raw.Warmup)
				c.CompletionDeadline, _ = time.ParseDuration(raw.CompletionDeadline)
				c.HealthTimeout, _ = time.ParseDuration(raw.HealthTimeout)
				c.StallAfter, _ = time.ParseDuration(raw.StallAfter)
				c.WedgeAfter, c.HungAfter = raw.WedgeAfter, raw.HungAfter
				c.NoRestart = raw.Restart != nil && !*raw.Restart
			}
			out[pr.Name] = c
		}
	}
	return out
}

package serve

import (
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

// watchdogConfigs is the watchdog configuration of every engine profile,
// from its decoded x-vllmctl.watchdog; zero fields take watchdog's defaults.
func watchdogConfigs(p *project.Project) map[string]watchdog.Config {
	out := map[string]watchdog.Config{}
	for _, pr := range p.Profiles {
		for _, eng := range pr.Engines() {
			var c watchdog.Config
			if eng.Ext != nil && eng.Ext.Watchdog != nil {
				w := eng.Ext.Watchdog
				c.Interval, c.Warmup = time.Duration(w.Interval), time.Duration(w.Warmup)
				c.CompletionDeadline, c.HealthTimeout = time.Duration(w.CompletionDeadline), time.Duration(w.HealthTimeout)
				c.StallAfter = time.Duration(w.StallAfter)
				c.WedgeAfter, c.HungAfter = w.WedgeAfter, w.HungAfter
				c.NoRestart = w.Restart != nil && !*w.Restart
			}
			out[pr.Name] = c
		}
	}
	return out
}

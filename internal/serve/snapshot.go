package serve

import (
	"slices"
	"time"

	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// Snapshot is a read-only view of the daemon at one moment, for a dashboard
// or alert rules. It holds copies: changing it changes nothing in the Server,
// and it carries no secret (the engines' API keys stay out).
type Snapshot struct {
	Time     time.Time      `json:"time"`
	Profiles []ProfileState `json:"profiles"` // in the project's order
	// Transitions are the watchdog's last state changes and actions (at most
	// 100), oldest first; empty when no watchdog runs.
	Transitions []watchdog.Transition `json:"transitions"`
}

// ProfileState is one engine profile as the gateway and the watchdog see it.
type ProfileState struct {
	Profile  string    `json:"profile"`
	Models   []string  `json:"models"`          // names the gateway routes to it (served names and aliases), sorted
	BaseURL  string    `json:"base_url"`        // where the gateway sends its requests
	Where    string    `json:"where,omitempty"` // where it runs when not on this machine (kubernetes …)
	Ready    bool      `json:"ready"`
	Reason   string    `json:"reason,omitempty"` // why it is not ready
	Since    time.Time `json:"since"`            // of the current Ready and Reason
	OnDemand bool      `json:"on_demand,omitempty"`
	// Watchdog is the watchdog's memory of the profile; nil when no watchdog
	// runs or it has not observed the profile yet.
	Watchdog *watchdog.Status `json:"watchdog,omitempty"`
}

// Snapshot returns the current view: the published route table, the
// watchdog's states and its recent transitions.
func (s *Server) Snapshot() Snapshot {
	table := s.routes.Table()
	s.mu.Lock()
	p, wd := s.p, s.wd
	trs := slices.Clone(s.transitions)
	s.mu.Unlock()
	snap := Snapshot{Time: time.Now(), Profiles: []ProfileState{}, Transitions: trs}
	if snap.Transitions == nil {
		snap.Transitions = []watchdog.Transition{}
	}
	byProfile := map[string]*ProfileState{}
	for name, ups := range table {
		for _, u := range ups {
			ps := byProfile[u.Profile]
			if ps == nil {
				ps = &ProfileState{Profile: u.Profile, BaseURL: u.BaseURL, Where: u.Where, Ready: u.Ready, Reason: u.Reason, Since: u.Since, OnDemand: u.OnDemand}
				byProfile[u.Profile] = ps
			}
			ps.Models = append(ps.Models, name)
		}
	}
	if p == nil {
		return snap
	}
	for _, pr := range p.Profiles {
		ps := byProfile[pr.Name]
		if ps == nil {
			continue
		}
		slices.Sort(ps.Models)
		if wd != nil {
			if _, watched := wd.Configs[pr.Name]; watched {
				if st := wd.Status(pr.Name); st.State != "" {
					ps.Watchdog = &st
				}
			}
		}
		snap.Profiles = append(snap.Profiles, *ps)
	}
	return snap
}

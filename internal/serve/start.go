package serve

import (
	"context"
	"errors"
	"fmt"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
)

// Restart implements watchdog.Restarter by replaying the profile's last
// recorded deploy (its runtime, Compose CLI, simulator binary and resolved
// file); a profile never deployed through vllmctl is deployed with the
// Server's runtime, simulator and inventory. The routes are refreshed after.
func (s *Server) Restart(ctx context.Context, profile, reason string) error {
	p := s.Project()
	o := deploy.UpOptions{Version: s.o.Version, Completion: true, Trigger: "watchdog: " + reason, Redact: s.redactor(p)}
	_, err := deploy.NewLocated(p, s.o.Runtimes).Replay(ctx, profile, o)
	if errors.Is(err, deploy.ErrNoRecord) {
		o.Simulate, o.SimBinary, o.Inventory = s.o.Simulate, s.o.SimBinary, s.inventory(p)
		_, err = deploy.New(p, s.backend()).Up(ctx, profile, o)
	}
	s.Refresh(ctx)
	return err
}

// Start implements gateway.Starter: an on-demand profile is deployed on its
// first request, after stopping the profiles of its swap group
// (x-vllmctl.group) that hold its GPUs. A profile outside the group holding
// them is an error: serve never stops what it was not told it may.
func (s *Server) Start(ctx context.Context, model string) error {
	s.starting.Lock()
	defer s.starting.Unlock()
	p := s.Project()
	var target *project.Profile
	for _, pr := range p.Profiles {
		for _, eng := range pr.Engines() {
			for _, n := range eng.ServedNames() {
				if n == model && eng.Ext != nil && eng.Ext.OnDemand {
					target = pr
				}
			}
		}
	}
	if target == nil {
		return fmt.Errorf("no on-demand profile serves %s", model)
	}
	if u := s.routes.Table()[model]; len(u) > 0 && u[0].Ready {
		return nil // started meanwhile
	}
	eng := target.Engines()[0]
	group := ""
	if eng.Ext != nil {
		group = eng.Ext.Group
	}
	s.mu.Lock()
	insts := s.insts
	s.mu.Unlock()
	dep := deploy.NewLocated(p, s.o.Runtimes) // evicted profiles are found where they run
	for _, pr := range p.Profiles {
		if pr.Name == target.Name {
			continue
		}
		if _, running := insts[pr.Name]; !running || len(pr.Engines()) == 0 {
			continue
		}
		other := pr.Engines()[0]
		if !sharesGPU(eng, other) {
			continue
		}
		if group == "" || other.Ext == nil || other.Ext.Group != group {
			return fmt.Errorf("GPUs of %s are held by %s, which is not in its swap group", target.Name, pr.Name)
		}
		s.log.Info("evicting for on-demand start", "profile", pr.Name, "for", target.Name)
		if err := dep.Down(ctx, pr.Name, deploy.DownOptions{}); err != nil {
			return err
		}
	}
	// Replace: serve has nobody to ask, and the group's members were stopped above.
	_, err := deploy.New(p, s.backend()).Up(ctx, target.Name, deploy.UpOptions{Version: s.o.Version, Simulate: s.o.Simulate, SimBinary: s.o.SimBinary, Inventory: s.inventory(p),
		Completion: true, Replace: true, Trigger: "on-demand: first request for " + model, Redact: s.redactor(p)})
	s.Refresh(ctx)
	return err
}

// sharesGPU reports whether two engines may use the same GPU.
func sharesGPU(a, b *project.Service) bool {
	if a.GPUs.All || b.GPUs.All {
		return true
	}
	for _, x := range a.GPUs.IDs {
		for _, y := range b.GPUs.IDs {
			if x == y {
				return true
			}
		}
	}
	return false
}

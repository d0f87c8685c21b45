package serve

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
)

// Refresh reloads the project and the running engines, probes each engine's
// /health and publishes a new route table. A project that no longer loads
// keeps the last one (logged as a warning); a runtime that cannot be reached
// keeps what was last seen of its engines.
func (s *Server) Refresh(ctx context.Context) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	p, err := project.Load(ctx, project.Options{Root: s.o.Root, Environ: s.o.Environ, Images: s.o.Images})
	if err != nil {
		s.log.Warn("reload project", "err", err)
		return
	}
	if s.o.Learn != nil {
		s.o.Learn(p) // a key added to .env while serve runs is masked from now on
	}
	if s.o.Recover != nil {
		done, err := s.o.Recover(ctx, p)
		for _, d := range done {
			s.log.Info("recovered", "what", d)
		}
		if err != nil {
			s.log.Warn("recover interrupted work", "err", err)
		}
	}
	insts, unreachable, err := deploy.NewLocated(p, s.o.Runtimes).Instances(ctx)
	if err != nil {
		s.log.Warn("list engines", "err", err)
	}
	byProfile := map[string]runtime.Instance{}
	for _, in := range insts {
		byProfile[in.Profile] = in
	}
	s.mu.Lock()
	// A runtime that cannot be reached (the Docker API restarting) says
	// nothing about its engines: keep what was last seen of them, and let the
	// health probe decide whether they answer.
	for name, in := range s.insts {
		if _, listed := byProfile[name]; listed {
			continue
		}
		if _, lost := unreachable[name]; lost || err != nil {
			byProfile[name] = in
		}
	}
	s.p, s.insts = p, byProfile
	s.mu.Unlock()
	prev := map[string]*gateway.Upstream{}
	for _, ups := range s.routes.Table() {
		for _, u := range ups {
			prev[u.Profile] = u
		}
	}
	var remotes map[string]Remote
	if s.o.Remotes != nil {
		remotes = s.o.Remotes(ctx, p)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	ups := make([]*gateway.Upstream, len(p.Profiles))
	var wg sync.WaitGroup
	for i, pr := range p.Profiles {
		engines := pr.Engines()
		if len(engines) == 0 {
			continue
		}
		eng := engines[0]
		in, running := byProfile[pr.Name]
		port := eng.HostPort()
		if running && in.HostPort != 0 {
			port = in.HostPort
		}
		rem, remote := remotes[pr.Name]
		remote = remote && !running
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			ready, reason := false, "not deployed"
			if remote {
				base, reason = rem.BaseURL, rem.Reason
			}
			if remote && rem.Reason == "" {
				pb := &monitor.HTTPProber{BaseURL: base, Client: client}
				if err := pb.Health(ctx); err == nil {
					ready, reason = true, ""
				} else {
					reason = "not answering through " + rem.Where + " (" + strings.TrimSpace(lastPart(err.Error())) + ")"
				}
			} else if running && in.State == runtime.Running {
				pb := &monitor.HTTPProber{BaseURL: base, Client: client}
				if err := pb.Health(ctx); err == nil {
					ready, reason = true, ""
				} else {
					reason = "loading or not answering (" + strings.TrimSpace(lastPart(err.Error())) + ")"
				}
			} else if running {
				reason = string(in.State)
			}
			u := &gateway.Upstream{Profile: pr.Name, BaseURL: base, APIKey: eng.Args.APIKey, Ready: ready, Reason: reason,
				Since: time.Now(), OnDemand: eng.Ext != nil && eng.Ext.OnDemand && !remote, Served: eng.Args.ServedNames()}
			if remote {
				u.Where = rem.Where
			}
			if old := prev[pr.Name]; old != nil && old.Ready == ready && old.Reason == reason && old.Where == u.Where {
				u.Since = old.Since
			}
			if old := prev[pr.Name]; remote && (old == nil || old.Where != u.Where || old.BaseURL != u.BaseURL) {
				s.log.Info("route", "profile", pr.Name, "where", u.Where, "via", u.BaseURL)
			}
			ups[i] = u
			if s.o.Metrics != nil {
				s.o.Metrics.EngineReady(pr.Name, ready)
			}
		}()
	}
	wg.Wait()
	table := gateway.Table{}
	for i, pr := range p.Profiles {
		if ups[i] == nil {
			continue
		}
		for _, name := range pr.Engines()[0].ServedNames() {
			table[name] = append(table[name], ups[i])
		}
	}
	s.routes.Store(table)
}

// lastPart is the innermost cause of a wrapped error text.
func lastPart(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

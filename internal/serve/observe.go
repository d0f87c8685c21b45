package serve

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// Observe implements watchdog.Observer: /health on the published port (and
// inside the engine's network when that fails), a timed 4-token completion,
// the startup phases and the fatal cause from the log, and an empty Hugging
// Face cache mount as the likely cause of a silent boot.
func (s *Server) Observe(ctx context.Context, profile string, probe watchdog.Probe) watchdog.Observation {
	s.mu.Lock()
	p, in, deployed := s.p, s.insts[profile], false
	if _, ok := s.insts[profile]; ok {
		deployed = true
	}
	s.mu.Unlock()
	var o watchdog.Observation
	o.Deployed, o.Restarts, o.StartedAt = deployed, in.RestartCount, in.StartedAt
	o.Running, o.Paused = in.State == runtime.Running || in.State == runtime.Paused, in.State == runtime.Paused
	if !deployed || p == nil || o.Paused {
		return o // a paused engine cannot answer: the decision table knows
	}
	pr, err := p.Profile(profile)
	if err != nil || len(pr.Engines()) == 0 {
		return o
	}
	eng := pr.Engines()[0]
	health := &http.Client{Timeout: probe.Health}
	pb := &monitor.HTTPProber{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", in.HostPort), APIKey: eng.Args.APIKey, Client: health, MaxTokens: 4}
	o.HealthErr = pb.Health(ctx)
	if o.HealthErr != nil && in.InNetwork != "" {
		// Does it answer inside its network? Then the published port is what is lost.
		inner := &monitor.HTTPProber{BaseURL: "http://" + in.InNetwork, Client: health}
		o.InNetworkKnown, o.InNetworkErr = true, inner.Health(ctx)
	}
	if o.HealthErr == nil {
		pb.Client = &http.Client{Timeout: probe.Completion}
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, probe.Completion)
		o.CompletionErr = pb.Complete(cctx, eng.Args.ServedNames()[0])
		cancel()
		o.CompletionTime = time.Since(start)
	}
	// Boot progress and the cause of failures, from the log.
	be, berr := s.o.Runtimes.ForInstance(ctx, in)
	if berr != nil {
		be = s.backend()
	}
	if rc, err := be.Logs(ctx, in, false, time.Time{}); err == nil {
		phases := 0
		_ = deploy.ReadLines(rc, func(l string) {
			info := vllm.ClassifyLine(l)
			switch info.Kind {
			case vllm.KindPhase:
				phases++
			case vllm.KindFatal:
				if f, ok := vllm.FatalByName(info.Fatal); ok && info.Fatal != "engine-failed" {
					o.Cause = f.Diagnosis
				}
			}
		})
		rc.Close()
		s.mu.Lock()
		if phases != s.phases[profile] {
			s.phases[profile], s.phaseAt[profile] = phases, time.Now()
		}
		o.LastPhaseAt = s.phaseAt[profile]
		s.mu.Unlock()
	}
	if o.Cause == "" {
		o.Cause = emptyCacheCause(eng)
	}
	return o
}

// emptyCacheCause names an empty Hugging Face cache bind mount, the usual cause of a silent boot.
func emptyCacheCause(eng *project.Service) string {
	for _, v := range eng.Config.Volumes {
		if v.Type == "bind" && strings.Contains(v.Target, "huggingface") {
			ents, err := os.ReadDir(v.Source)
			if err != nil || len(ents) == 0 {
				return fmt.Sprintf("the Hugging Face cache mount %s is empty or missing: the model is being downloaded again", v.Source)
			}
		}
	}
	return ""
}

package cli

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/state"
)

func newStatusCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var target targetFlags
	var watch time.Duration
	c := &cobra.Command{
		Use:   "status [PROFILE...]",
		Short: "Show each profile: state, health, restarts, port, drift and load from /metrics",
		Long: `Status probes every profile concurrently: container or process state, /health,
ready since, restart count, served names, host port, config drift (the files now
against the config hash on the running engine), and from the engine's /metrics
the running and waiting requests, KV cache usage and generation tokens/s
(with --watch, between refreshes). Each profile is looked for where up
recorded it (runtime, Compose CLI), unless --runtime or --compose is given.`,
		Example: "  vllmctl status\n  vllmctl status --watch 2s\n  vllmctl status -o json\n  vllmctl status --target kubernetes --namespace llm",
		RunE: func(cmd *cobra.Command, args []string) error {
			if k8s, err := target.kubernetes(); err != nil || k8s {
				if err != nil {
					return err
				}
				return statusKubernetes(e, target, args)
			}
			_, dep, err := e.located(cmd, rt)
			if err != nil {
				return err
			}
			prev := map[string]deploy.ProfileStatus{}
			trends := map[string]*trend{} // status --watch: the readings so far, drawn as text plots
			for {
				sts, err := dep.Status(e.ctx, args, prev, watch)
				if err != nil {
					return stateErr(err)
				}
				if watch > 0 && e.output == formatTable {
					fmt.Fprint(e.stdout, "\033[H\033[2J")
				}
				if e.output != formatTable {
					if err := writeData(e.stdout, e.output, sts); err != nil {
						return err
					}
				} else {
					printStatus(e, sts)
					if watch > 0 {
						printTrends(e, sts, trends)
					}
				}
				if watch <= 0 {
					for _, st := range sts {
						if errors.Is(st.Err, state.ErrCorrupt) {
							return &exitError{code: ExitUsage, err: st.Err} // a damaged record: the engine may run, unseen
						}
					}
					return nil
				}
				for _, s := range sts {
					prev[s.Profile] = s
				}
				select {
				case <-e.ctx.Done():
					return nil
				case <-time.After(watch):
				}
			}
		},
	}
	rt.register(c)
	target.register(c)
	c.Flags().DurationVar(&watch, "watch", 0, "refresh every interval (e.g. 2s) until interrupted")
	addOutput(c, e)
	return c
}

func printStatus(e *env, sts []deploy.ProfileStatus) {
	t := newTable(e.stdout, "PROFILE", "STATE", "HEALTH", "READY SINCE", "RESTARTS", "PORT", "SERVED", "DRIFT", "RUN/WAIT", "KV", "GEN TOK/S")
	f := func(p *float64, format string) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf(format, *p)
	}
	for _, s := range sts {
		drift := "no"
		if s.Drift {
			drift = "YES"
		}
		if s.State == "not deployed" {
			drift = ""
		}
		rw := ""
		if s.Running != nil && s.Waiting != nil {
			rw = fmt.Sprintf("%.0f/%.0f", *s.Running, *s.Waiting)
		}
		kv := ""
		if s.KVUsage != nil {
			kv = fmt.Sprintf("%.1f%%", *s.KVUsage*100)
		}
		t.row(s.Profile, s.State, s.Health, s.ReadySince, fmt.Sprint(s.Restarts), itoa(s.HostPort), strings.Join(s.Served, ","), drift, rw, kv, f(s.GenPerSec, "%.1f"))
	}
	_ = t.flush()
	for _, s := range sts {
		if s.Drift {
			fmt.Fprintf(e.stdout, "%s: %s\n", s.Profile, s.DriftReason)
		}
		if s.State == "unknown" && s.Error != "" {
			fmt.Fprintf(e.stdout, "%s: %s\n", s.Profile, s.Error)
		}
	}
}

// printTrends adds each deployed profile's readings to its trend and draws
// the last ones (oldest left): generation tokens/s, KV cache usage (0–100 %)
// and waiting requests, with the latest value.
func printTrends(e *env, sts []deploy.ProfileStatus, trends map[string]*trend) {
	w := 0
	for _, s := range sts {
		if s.State != "not deployed" {
			w = max(w, len(s.Profile))
		}
	}
	for _, s := range sts {
		if s.State == "not deployed" {
			continue
		}
		tr := trends[s.Profile]
		if tr == nil {
			tr = &trend{}
			trends[s.Profile] = tr
		}
		tr.add(s.GenPerSec, s.KVUsage, s.Waiting)
		last := func(v []float64, format string, scale float64) string {
			if x := v[len(v)-1]; !math.IsNaN(x) {
				return fmt.Sprintf(format, x*scale)
			}
			return "-"
		}
		fmt.Fprintf(e.stdout, "%-*s  tok/s %s %s  KV %s %s  waiting %s %s\n", w, s.Profile,
			sparkline(tr.gen, 0, 0), last(tr.gen, "%.1f", 1),
			sparkline(tr.kv, 0, 1), last(tr.kv, "%.0f%%", 100),
			sparkline(tr.waiting, 0, 0), last(tr.waiting, "%.0f", 1))
	}
}

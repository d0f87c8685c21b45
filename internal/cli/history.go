package cli

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/state"
)

func newHistoryCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:     "history [PROFILE]",
		Short:   "List past deploys: config hash, outcome, time to ready, diagnosis",
		Example: "  vllmctl history\n  vllmctl history medium -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			profile := ""
			if len(args) == 1 {
				profile = args[0]
			}
			h, err := deploy.New(p, nil).History(profile)
			if err != nil {
				return err
			}
			return e.render(h, func(w io.Writer) error {
				if len(h) == 0 {
					fmt.Fprintln(w, "no deploys yet")
					return nil
				}
				t := newTable(w, "TIME", "PROFILE", "CONFIG", "RUNTIME", "OUTCOME", "TO READY", "DIAGNOSIS")
				for _, r := range h {
					ready := ""
					if r.ReadySecs > 0 {
						ready = fmt.Sprintf("%.1fs", r.ReadySecs)
					}
					rt := r.Runtime
					if r.Simulated {
						rt += " (sim)"
					}
					t.row(r.Time.Local().Format("2006-01-02 15:04:05"), r.Profile, r.Hash, rt, string(r.Outcome), ready, truncate(r.Diagnosis, 80))
				}
				if err := t.flush(); err != nil {
					return err
				}
				printReadyTrends(e, h)
				return nil
			})
		},
	}
	addOutput(c, e)
	return c
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// printReadyTrends draws, per profile with at least two ready deploys, its
// time to ready over its deploys (oldest left), with the first and last;
// h is newest first, as History returns it.
func printReadyTrends(e *env, h []state.Record) {
	var order []string
	secs := map[string][]float64{}
	for _, r := range slices.Backward(h) {
		if r.ReadySecs <= 0 {
			continue
		}
		if _, ok := secs[r.Profile]; !ok {
			order = append(order, r.Profile)
		}
		secs[r.Profile] = append(secs[r.Profile], r.ReadySecs)
	}
	header := false
	for _, p := range order {
		v := secs[p]
		if len(v) < 2 {
			continue
		}
		if !header {
			fmt.Fprintln(e.stdout, "\ntime to ready, oldest deploy first:")
			header = true
		}
		fmt.Fprintf(e.stdout, "  %s  %s  %.1fs → %.1fs\n", p, sparkline(v, 0, 0), v[0], v[len(v)-1])
	}
}

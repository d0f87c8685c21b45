package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

func newLogsCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var follow bool
	var since time.Duration
	c := &cobra.Command{
		Use:     "logs PROFILE",
		Short:   "Print a profile's engine log with startup phases and errors marked",
		Example: "  vllmctl logs medium\n  vllmctl logs medium -f --since 10m",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, dep, err := e.located(cmd, rt)
			if err != nil {
				return err
			}
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			red := redactorFor(p)
			return stateErr(dep.Logs(e.ctx, args[0], follow, from, func(l string) {
				info := vllm.ClassifyLine(l)
				mark := "   "
				switch info.Kind {
				case vllm.KindPhase:
					mark = "▶  "
				case vllm.KindFatal:
					mark = "✘  "
				case vllm.KindWarning:
					mark = "!  "
				}
				fmt.Fprintln(e.stdout, mark+red.String(l))
			}))
		},
	}
	rt.register(c)
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	c.Flags().DurationVar(&since, "since", 0, "only lines newer than this (e.g. 10m)")
	return c
}

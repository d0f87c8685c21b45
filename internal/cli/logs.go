package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

func newLogsCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var target targetFlags
	var follow bool
	var since time.Duration
	c := &cobra.Command{
		Use:     "logs PROFILE",
		Short:   "Print a profile's engine log with startup phases and errors marked",
		Example: "  vllmctl logs medium\n  vllmctl logs medium -f --since 10m\n  vllmctl logs medium --target kubernetes -f   # the pod's container log, through the API",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			if k8s, err := target.kubernetes(); err != nil || k8s {
				if err != nil {
					return err
				}
				return logsKubernetes(e, target, args[0], follow, from)
			}
			p, dep, err := e.located(cmd, rt)
			if err != nil {
				return err
			}
			red := redactorFor(p)
			return stateErr(dep.Logs(e.ctx, args[0], follow, from, func(l string) { printLogLine(e, red, l) }))
		},
	}
	rt.register(c)
	target.register(c)
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	c.Flags().DurationVar(&since, "since", 0, "only lines newer than this (e.g. 10m)")
	return c
}

// printLogLine prints one engine log line, marked as a startup phase, a
// fatal error or a warning, with secrets masked.
func printLogLine(e *env, red *redact.Redactor, l string) {
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
}

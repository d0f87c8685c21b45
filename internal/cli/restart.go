package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
)

func newRestartCmd(e *env) *cobra.Command {
	var f upFlags
	c := &cobra.Command{
		Use:   "restart PROFILE...",
		Short: "Redeploy profiles where they run and follow them until ready",
		Long: `Restart deploys each profile again from its files, as up does, on the runtime
its last deploy was recorded on: the same runtime, Compose CLI, --simulate and
simulator binary, unless given on the command line. A profile with no recorded
deploy is an error: deploy it with up.`,
		Example: "  vllmctl restart medium\n  vllmctl restart medium --runtime docker   # move it to docker",
		Args:    cobra.MinimumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runRestart(e, cmd, f, args) },
	}
	f.register(c, e)
	return c
}

// runRestart redeploys each profile with the runtime flags its last record
// holds, where the command line does not give them.
func runRestart(e *env, c *cobra.Command, f upFlags, args []string) error {
	p, err := e.load(project.Options{})
	if err != nil {
		return err
	}
	store := deploy.New(p, nil).Store
	for _, name := range args {
		if _, err := p.Profile(name); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
		rec, ok, err := store.Latest(name)
		if err != nil {
			return stateErr(err)
		}
		if !ok {
			return stateErr(fmt.Errorf("%w: no deploy of %s is recorded in %s: deploy it with 'vllmctl up %s'", deploy.ErrNoRecord, name, store.HistoryPath(), name))
		}
		ff := f
		w := rec.Where()
		if !c.Flags().Changed("runtime") && w.Kind != "" {
			ff.rt.runtime = string(w.Kind)
		}
		if !c.Flags().Changed("compose") && w.Compose != "" && !c.Flags().Changed("runtime") {
			ff.rt.compose = string(w.Compose)
		}
		if !c.Flags().Changed("simulate") {
			ff.rt.simulate = rec.Simulated
		}
		if !c.Flags().Changed("sim-binary") && rec.SimBinary != "" && ff.rt.simulate {
			ff.rt.simBin = rec.SimBinary
		}
		if err := runUp(e, ff, []string{name}); err != nil {
			return err
		}
	}
	return nil
}

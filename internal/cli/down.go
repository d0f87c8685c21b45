package cli

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/deploy"
)

func newDownCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var target targetFlags
	c := &cobra.Command{
		Use:   "down [PROFILE...]",
		Short: "Remove profiles' containers (orphans too) and wait for their GPU memory to be released",
		Long: `Down stops and removes the containers of each profile (compose down
--remove-orphans with the resolved file of its last deploy), or the engine
process, then waits until nvidia-smi shows no process on the profile's GPUs
(where nvidia-smi exists): a leftover worker makes the next start run out of memory.
Each profile is removed where up recorded it (runtime, Compose CLI), unless
--runtime or --compose is given.`,
		Example: "  vllmctl down medium\n  vllmctl down            # every profile\n  vllmctl down medium --target kubernetes --context prod",
		RunE: func(cmd *cobra.Command, args []string) error {
			if k8s, err := target.kubernetes(); err != nil || k8s {
				if err != nil {
					return err
				}
				return downKubernetes(e, target, args)
			}
			_, dep, err := e.located(cmd, rt)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				insts, unreachable, err := dep.Instances(e.ctx)
				if err != nil {
					return stateErr(err)
				}
				for n, err := range unreachable {
					fmt.Fprintf(e.stderr, "%s: %v\n", n, err)
				}
				seen := map[string]bool{}
				for _, in := range insts {
					if !seen[in.Profile] {
						seen[in.Profile] = true
						args = append(args, in.Profile)
					}
				}
				sort.Strings(args)
				if len(args) == 0 {
					fmt.Fprintln(e.stdout, "nothing is deployed")
					return nil
				}
			}
			for _, name := range args {
				if err := dep.Down(e.ctx, name, deploy.DownOptions{}); err != nil {
					return stateErr(err)
				}
				fmt.Fprintf(e.stdout, "%s: removed\n", name)
			}
			return nil
		},
	}
	rt.register(c)
	target.register(c)
	return c
}

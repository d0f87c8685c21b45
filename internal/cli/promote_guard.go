package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/promote"
)

// Self is the vllmctl binary, set by package main. A promotion starts its
// recovery guard (vllmctl promote --guard ID) from it; where Main runs
// in-process (tests), it is empty and promotions have no guard: the next
// promote, or serve, recovers them.
var Self string

// guardFlags are the flags of a promotion its guard does not take.
var guardFlags = map[string]bool{"root": true, "output": true, "over": true, "gate": true, "recover": true, "guard": true}

// startGuard returns promote.Options.Guard: it starts `vllmctl promote
// --guard ID` with the promotion's runtime, simulation and inventory flags,
// detached from this process (its own session or process group, no
// terminal), its output in .vllmctl/promote/ID.guard.log.
func (e *env) startGuard(c *cobra.Command, p *project.Project, j promote.Journals) func(id string) error {
	if Self == "" {
		return nil
	}
	return func(id string) error {
		args := []string{"promote", "--guard", id, "--root", p.Root}
		c.Flags().Visit(func(f *pflag.Flag) {
			if guardFlags[f.Name] {
				return
			}
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				for _, v := range sv.GetSlice() {
					args = append(args, "--"+f.Name+"="+v)
				}
				return
			}
			args = append(args, "--"+f.Name+"="+f.Value.String())
		})
		log, err := os.OpenFile(filepath.Join(j.Dir, id+".guard.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer log.Close()
		cmd := exec.Command(Self, args...)
		cmd.Stdout, cmd.Stderr = log, log
		detachGuard(cmd)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", Self, err)
		}
		return cmd.Process.Release()
	}
}

// runGuard is `promote --guard ID`: wait for the promotion to end or its
// vllmctl to die, and finish it if it has no outcome.
func runGuard(e *env, opts promote.Options, dep *deploy.Deployer, id string) error {
	j, recovered, err := promote.Guard(e.ctx, dep, opts, id)
	if errors.Is(err, os.ErrNotExist) {
		return usageErr("promote --guard %s: no such promotion in %s", id, opts.Journals.Dir)
	}
	if err != nil {
		return &exitError{code: ExitFindings, err: err}
	}
	if recovered {
		fmt.Fprintf(e.stdout, "promotion %s interrupted: recovered, %s runs (%s)\n", id, j.Running, j.Outcome)
	} else {
		fmt.Fprintf(e.stdout, "promotion %s ended (%s): nothing to do\n", id, j.Outcome)
	}
	return nil
}

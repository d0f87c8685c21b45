package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/configdiff"
	"github.com/vllmctl/vllmctl/internal/project"
)

// sideOf resolves A or B of diff: a profile name or a compose file path, as
// the services it defines (merged with the base file for a profile).
func (e *env) sideOf(p *project.Project, arg string) ([]*project.Service, string, error) {
	if pr, err := p.Profile(arg); err == nil {
		if pr.Compose == nil {
			return nil, "", fmt.Errorf("profile %q does not load: run 'vllmctl check %s'", arg, arg)
		}
		return pr.Services, "profile " + pr.Name, nil
	}
	if _, err := os.Stat(arg); err != nil {
		return nil, "", fmt.Errorf("%q is neither a profile nor a file: %w", arg, project.ErrNotFound)
	}
	abs, _ := filepath.Abs(arg)
	for _, pr := range p.Profiles { // a profile's own file means the profile (merged with the base)
		if filepath.Join(p.Root, filepath.FromSlash(pr.File)) == abs && pr.Compose != nil {
			return pr.Services, arg, nil
		}
	}
	sp, err := project.Load(e.ctx, project.Options{Root: p.Root, Files: []string{arg}, Environ: e.environ, Images: e.images()})
	if err != nil {
		return nil, "", err
	}
	pr := sp.Profiles[0]
	if pr.Compose == nil {
		return nil, "", fmt.Errorf("%s does not load: run 'vllmctl check --file %s'", arg, arg)
	}
	return pr.Services, arg, nil
}

func newDiffCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two profiles or compose files by meaning",
		Long: `Diff compares the vLLM service of A and B (each a profile name or a compose file):
image, every vLLM flag (names normalised, '=' and space alike, the engine's
defaults made explicit), GPUs, ports, environment (secrets shown as ***),
volumes and healthcheck. The same meaning prints "no difference", whatever the
formatting. When a side has no recognised vLLM engine, the compose services are
compared as written (entrypoint and command as text) and diff says so.
Exit status 0 when equal, 1 when they differ, 2 when a side cannot be read.`,
		Example: "  vllmctl diff medium docker-compose-qwen3-medium.yml\n  vllmctl diff old.yml new.yml -o json",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			a, an, err := e.sideOf(p, args[0])
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			b, bn, err := e.sideOf(p, args[1])
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			res := configdiff.Compare(a, b)
			changes := res.Changes
			if changes == nil {
				changes = []configdiff.Change{}
			}
			note := e.stdout
			if e.output != formatTable {
				note = e.stderr // the data keeps its shape: a list of changes
			}
			for _, side := range res.NoEngine {
				name := an
				if side == "B" {
					name = bn
				}
				fmt.Fprintf(note, "note: %s has no recognised vLLM engine: compose services compared as written (command as text)\n", name)
			}
			if e.output != formatTable {
				if err := writeData(e.stdout, e.output, changes); err != nil {
					return err
				}
			} else if len(changes) == 0 {
				fmt.Fprintf(e.stdout, "no difference between %s and %s\n", an, bn)
			} else {
				fmt.Fprintf(e.stdout, "%s → %s: %d difference(s)\n", an, bn, len(changes))
				for _, ch := range changes {
					fmt.Fprintf(e.stdout, "  %s\n", ch)
				}
			}
			if len(changes) > 0 {
				return &exitError{code: ExitFindings}
			}
			return nil
		},
	}
	addOutput(c, e)
	return c
}

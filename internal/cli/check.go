package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/check"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
)

type checkFlags struct {
	files  []string
	strict bool
	all    bool
	noPlan bool
}

func newCheckCmd(e *env) *cobra.Command {
	var f checkFlags
	c := &cobra.Command{
		Use:   "check [PROFILE...]",
		Short: "Report every defect of the profiles before deploying",
		Long: `Check loads the base file, each profile and the root .env exactly as
'docker compose --env-file .env -f base -f profile' would, and reports every
defect at once, as file:line:col: severity: message (hint).

It finds: YAML and compose errors; variables that are unset or malformed, and
the flags they leave empty; unknown vLLM flags (with "did you mean"), no-op and
removed flags; tensor-parallel size against assigned GPUs; gpu-memory-utilization
out of range, or shared GPUs whose shares add up to more than 1; host ports and
container names used twice; API keys and tokens written in compose files;
unpinned images; no Hugging Face cache; no ipc: host / shm_size; healthcheck
start periods shorter than the model's load; .env keys nothing reads.

Exit status: 0 when there is no error (warnings allowed, unless --strict),
1 when there are errors, 2 when the project cannot be read.`,
		Example: `  vllmctl check
  vllmctl check medium
  vllmctl check --file docker-compose-qwen3-micro.yml
  vllmctl check -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			p, err := e.load(project.Options{Files: f.files})
			if err != nil {
				return err
			}
			for _, name := range args { // cross-profile checks need every profile loaded
				if _, err := p.Profile(name); err != nil {
					return &exitError{code: ExitUsage, err: err}
				}
			}
			var extra []project.Diagnostic
			if !f.noPlan && !p.Standalone {
				pp, err := e.planProject(p, planFlags{}, args)
				if err != nil {
					return err
				}
				if len(pp.GPUs) > 0 {
					extra = plan.Diagnostics(p, pp)
				}
			}
			diags := check.Run(p, check.Options{Profiles: args, Extra: extra, Host: dockerHost(e.ctx)})
			if !f.all {
				diags = dropInfo(diags)
			}
			if diags == nil {
				diags = []project.Diagnostic{} // JSON: [] rather than null
			}
			red := redactorFor(p)
			for i := range diags {
				diags[i].Message = red.String(diags[i].Message)
				diags[i].Hint = red.String(diags[i].Hint)
			}
			errs := project.CountErrors(diags)
			warns := len(diags) - errs - countInfo(diags)
			if e.output != "table" {
				if err := writeData(e.stdout, e.output, diags); err != nil {
					return err
				}
			} else {
				for _, d := range diags {
					fmt.Fprintln(e.stdout, d.String())
				}
				if len(p.Profiles) == 0 {
					fmt.Fprintf(e.stderr, "no profiles found in %s (see 'vllmctl init' and 'vllmctl new')\n", p.Config.ProfilesDir)
				}
				fmt.Fprintf(e.stderr, "%d profile(s) checked: %d error(s), %d warning(s)\n", len(p.Profiles), errs, warns)
			}
			if errs > 0 || (f.strict && warns > 0) {
				return &exitError{code: ExitFindings}
			}
			return nil
		},
	}
	c.Flags().StringArrayVarP(&f.files, "file", "f", nil, "check a stand-alone compose `FILE` instead of the profiles (repeatable)")
	c.Flags().BoolVar(&f.strict, "strict", false, "exit 1 on warnings too")
	c.Flags().BoolVar(&f.noPlan, "no-plan", false, "skip the memory plan (which needs a GPU inventory: nvidia-smi or gpus: in vllmctl.yaml)")
	c.Flags().BoolVar(&f.all, "all", false, "also print informational findings (defaults that apply silently)")
	addOutput(c, e)
	return c
}

func dropInfo(ds []project.Diagnostic) []project.Diagnostic {
	out := ds[:0]
	for _, d := range ds {
		if d.Severity != project.Info {
			out = append(out, d)
		}
	}
	return out
}

func countInfo(ds []project.Diagnostic) int {
	n := 0
	for _, d := range ds {
		if d.Severity == project.Info {
			n++
		}
	}
	return n
}

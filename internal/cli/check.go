package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/check"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/sarif"
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

For CI, -o sarif writes a SARIF 2.1.0 log (upload it to GitHub code scanning)
and -o github writes GitHub Actions workflow commands, which annotate the
lines of a pull request. Their paths are relative to the repository root (the
folder above --root that holds .git, or $GITHUB_WORKSPACE), so they point at
the right files when the project is a subfolder.

Exit status: 0 when there is no error (warnings allowed, unless --strict),
1 when there are errors, 2 when the project cannot be read; the same with
every -o.`,
		Example: `  vllmctl check
  vllmctl check medium
  vllmctl check --file docker-compose-qwen3-micro.yml
  vllmctl check -o json
  vllmctl check -o sarif > vllmctl.sarif   # for github/codeql-action/upload-sarif
  vllmctl check -o github                  # annotations in a GitHub Actions step`,
		RunE: func(cmd *cobra.Command, args []string) error {
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
			var werr error
			switch e.output {
			case formatJSON, formatYAML:
				werr = writeData(e.stdout, e.output, diags)
			case formatSARIF:
				werr = sarif.Write(e.stdout, diags, sarif.Options{ToolVersion: versionInfo().version, Place: placeOf(p, e.environ)})
			case formatGitHub:
				werr = sarif.WriteGitHub(e.stdout, diags, placeOf(p, e.environ))
			default:
				for _, d := range diags {
					fmt.Fprintln(e.stdout, d.String())
				}
			}
			if werr != nil {
				return werr
			}
			if e.output != formatJSON && e.output != formatYAML { // the summary goes to stderr, beside the findings or a CI log
				if len(p.Profiles) == 0 {
					fmt.Fprintln(e.stderr, p.NoProfilesHint())
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
	addOutput(c, e, formatSARIF, formatGitHub)
	c.Flags().Lookup("output").Usage = "output format: table, json, yaml, sarif (SARIF 2.1.0, for code scanning) or github (GitHub Actions annotations)"
	return c
}

// placeOf says where the project sits in its repository, for the CI formats.
func placeOf(p *project.Project, environ map[string]string) sarif.Place {
	return sarif.Place{Root: p.Root, Prefix: repoPrefix(p.Root, environ)}
}

// repoPrefix is the project root relative to the repository root, with
// forward slashes ("" when the project is the repository root or no
// repository is found): $GITHUB_WORKSPACE when it holds the project (a GitHub
// Actions job), else the nearest folder at or above the root holding .git.
// SARIF and GitHub annotations need paths from the repository root.
func repoPrefix(root string, environ map[string]string) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		return ""
	}
	rel := func(base string) (string, bool) {
		r, err := filepath.Rel(base, abs)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return "", false
		}
		if r == "." {
			return "", true
		}
		return filepath.ToSlash(r), true
	}
	if ws := environ["GITHUB_WORKSPACE"]; ws != "" {
		if wsAbs, err := filepath.Abs(ws); err == nil {
			if r, ok := rel(wsAbs); ok {
				return r
			}
		}
	}
	for dir := abs; ; {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			r, _ := rel(dir)
			return r
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
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

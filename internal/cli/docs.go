package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/archive"
	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/docs"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
)

func newDocsCmd(e *env) *cobra.Command {
	var out string
	var checkOnly bool
	c := &cobra.Command{
		Use:   "docs",
		Short: "Write the project's ARCHITECTURE.md from the files themselves",
		Long: `Docs renders the architecture document from the profiles, the base file, the
plan (on the GPUs of vllmctl.yaml) and the archive manifests: an overview table,
the folder tree, one section per profile with its parameters, justification
(x-vllmctl.description or the profile's leading comments), plan figures and the
exact deploy/health/stop commands, and the archives with their reasons. The
output is deterministic and holds no secret. --check exits 1 when the committed
document no longer matches the files (for CI).`,
		Example: "  vllmctl docs\n  vllmctl docs --check",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			if len(p.Profiles) == 0 {
				// A document of nothing helps no one and would overwrite one that described something.
				return &exitError{code: ExitUsage, err: errors.New(p.NoProfilesHint())}
			}
			// An absolute --out is that path; a relative one is relative to the root.
			path := out
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.Root, filepath.FromSlash(out))
			}
			shown := p.Rel(path)                // relative to the root when inside it, else absolute
			pw, err := docs.AsWritten(e.ctx, p) // the files as written: no .env value reaches the document
			if err != nil {
				return err
			}
			in := docs.Input{Output: shown}
			if len(pw.Config.GPUs) > 0 { // the declared hardware, never a live reading: the document must not depend on the machine
				if g, err := declaredInventory(pw); err == nil {
					pp := plan.PlanProject(pw, plan.ProjectInput{GPUs: g, GPUSource: project.ConfigFile})
					in.Plan = &pp
				}
			}
			st := archive.Store{Root: p.Root, Dir: p.Config.ArchiveDir}
			in.Archives, _ = st.List()
			text := redactorFor(p).String(docs.Render(pw, in))
			if checkOnly {
				old, err := os.ReadFile(path)
				if errors.Is(err, os.ErrNotExist) {
					return &exitError{code: ExitFindings, err: fmt.Errorf("%s does not exist: run 'vllmctl docs'", shown)}
				}
				if string(old) != text {
					return &exitError{code: ExitFindings, err: fmt.Errorf("%s is out of date with the files: run 'vllmctl docs' and commit it", shown)}
				}
				fmt.Fprintf(e.stdout, "%s is up to date\n", shown)
				return nil
			}
			if out == "-" {
				_, err := e.stdout.Write([]byte(text))
				return err
			}
			if err := atomicfile.WriteFile(path, []byte(text), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %s\n", shown)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "O", "docs/docker/ARCHITECTURE.md", "where to write: an absolute path, or a path relative to the root ('-' for stdout)")
	c.Flags().BoolVar(&checkOnly, "check", false, "exit 1 when the document differs from what the files give")
	return c
}

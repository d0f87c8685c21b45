package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/scaffold"
)

func newInitCmd(e *env) *cobra.Command {
	var force, adopt bool
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create the project layout: base compose file, profiles folder, .env.example, .gitignore",
		Long: `Init writes a new project in DIR (default: the current folder):

  configs/docker/docker-compose.yml   commented base file every profile extends
  configs/docker/profiles/            one file per profile ('vllmctl new' writes them)
  .env.example                        template of the root .env
  .gitignore                          keeps .env and the .vllmctl/ state out of git
  vllmctl.yaml                        settings, all optional
  README.md                           a section on how the services are run

Existing files are kept unless --force; a README.md that exists gets the section appended once.

With --adopt, init keeps an existing folder as it is and writes only
vllmctl.yaml: its profiles: lists every compose file of the folder that runs a
vLLM engine (a model zoo with one file per model and variant, or stand-alone
files at the root), each becoming a profile named from its path. Files without
an engine, archives and files that are not compose files are listed as skipped,
with the reason.`,
		Example: "  vllmctl init\n  vllmctl init ~/llm-services\n  vllmctl init --adopt ~/model-zoo",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := e.root
			if len(args) == 1 {
				dir = args[0]
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if adopt {
				return adoptFolder(e, abs, force)
			}
			for _, f := range scaffold.Init(filepath.Base(abs)) {
				path := filepath.Join(abs, filepath.FromSlash(f.Path))
				old, err := os.ReadFile(path)
				exists := err == nil
				content := f.Content
				switch {
				case exists && f.Path == "README.md" && !force:
					if strings.Contains(string(old), "## vLLM services") {
						fmt.Fprintf(e.stdout, "kept    %s (already has the vLLM section)\n", f.Path)
						continue
					}
					content = strings.TrimRight(string(old), "\n") + "\n\n" + f.Content
				case exists && !force:
					fmt.Fprintf(e.stdout, "kept    %s (exists; --force overwrites)\n", f.Path)
					continue
				}
				if err := atomicfile.WriteFile(path, []byte(content), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "wrote   %s\n", f.Path)
			}
			fmt.Fprintf(e.stdout, "\nnext: cp .env.example .env, then vllmctl new NAME --model ID\n")
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	c.Flags().BoolVar(&adopt, "adopt", false, "keep the folder's compose files and write a vllmctl.yaml that lists those running vLLM as profiles")
	return c
}

// adoptFolder writes vllmctl.yaml for an existing folder: every compose file
// that runs a vLLM engine becomes a profile.
func adoptFolder(e *env, root string, force bool) error {
	cfgPath := filepath.Join(root, project.ConfigFile)
	if _, err := os.Stat(cfgPath); err == nil && !force {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%s exists: --adopt writes it; pass --force to replace it, or add a profiles: list to it by hand", project.ConfigFile)}
	}
	candidates, err := project.GlobFiles(root, []string{"**/*.yml", "**/*.yaml"})
	if err != nil {
		return err
	}
	var adopted []string
	type skip struct{ file, why string }
	var skipped []skip
	// A file another one includes (top-level include:) is loaded with it, as
	// docker compose does: adopting both would count its engines twice.
	includedBy := map[string]string{}
	for _, f := range candidates {
		for _, inc := range project.IncludedFiles(root, f) {
			if _, seen := includedBy[inc]; !seen && inc != f {
				includedBy[inc] = f
			}
		}
	}
	for _, f := range candidates {
		if why := archivedPath(f); why != "" {
			skipped = append(skipped, skip{f, why})
			continue
		}
		if f == project.ConfigFile {
			continue
		}
		if by, ok := includedBy[f]; ok {
			skipped = append(skipped, skip{f, "included by " + by + " (its profile loads it, as docker compose does)"})
			continue
		}
		if base, ok := project.OverrideBase(root, f); ok {
			skipped = append(skipped, skip{f, "merged over " + base + " in its profile, as docker compose does"})
			continue
		}
		p, err := project.Load(e.ctx, project.Options{Root: root, Files: []string{filepath.Join(root, filepath.FromSlash(f))}, Environ: e.environ, Images: e.images()})
		if err != nil || len(p.Profiles) == 0 {
			skipped = append(skipped, skip{f, "cannot be read"})
			continue
		}
		pr := p.Profiles[0]
		if len(pr.Services) == 0 {
			why := "not a compose file with services"
			if d, ok := loadError(p, pr); ok {
				// compose-go refused it: say where and why, not that it has no services.
				why = fmt.Sprintf("compose cannot load it: %s: %s (%s, then run init --adopt again)",
					d.Pos, strings.TrimPrefix(d.Message, "compose cannot load this profile: "), d.Hint)
			}
			skipped = append(skipped, skip{f, why})
			continue
		}
		if len(pr.Engines()) == 0 {
			var names []string
			for _, s := range pr.Services {
				names = append(names, s.Name)
			}
			skipped = append(skipped, skip{f, "no vLLM engine (services: " + strings.Join(names, ", ") + ")"})
			continue
		}
		adopted = append(adopted, f)
	}
	if len(adopted) == 0 {
		for _, s := range skipped {
			fmt.Fprintf(e.stdout, "skipped %s: %s\n", s.file, s.why)
		}
		return &exitError{code: ExitFindings, err: fmt.Errorf("no compose file under %s runs a vLLM engine: nothing to adopt", root)}
	}
	names := project.ProfileNames(adopted)
	var b strings.Builder
	b.WriteString("# Written by vllmctl init --adopt: every compose file below is a profile,\n")
	b.WriteString("# named from its path. Globs work too (\"models/*/vllm/compose/**/*.yml\").\n")
	b.WriteString("profiles:\n")
	for _, f := range adopted {
		fmt.Fprintf(&b, "  - %s  # profile %s\n", f, names[f])
	}
	if err := atomicfile.WriteFile(cfgPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	for _, f := range adopted {
		fmt.Fprintf(e.stdout, "adopted %s as profile %s\n", f, names[f])
	}
	for _, s := range skipped {
		fmt.Fprintf(e.stdout, "skipped %s: %s\n", s.file, s.why)
	}
	fmt.Fprintf(e.stdout, "\nwrote %s (%d profile(s)); next: vllmctl check\n", project.ConfigFile, len(adopted))
	return nil
}

// loadError returns the first error of loading a profile (compose-go refused
// the file), if any.
func loadError(p *project.Project, pr *project.Profile) (project.Diagnostic, bool) {
	for _, d := range append(slices.Clone(pr.Diags), p.Diags...) {
		if d.Severity == project.Error {
			return d, true
		}
	}
	return project.Diagnostic{}, false
}

// archivedPath says why a path is an archive rather than a live file, or "".
func archivedPath(rel string) string {
	lower := strings.ToLower(rel)
	for _, seg := range strings.Split(lower, "/") {
		switch {
		case strings.HasPrefix(seg, "archive"), strings.Contains(seg, "deprecated"), strings.HasSuffix(seg, "_history"):
			return "in an archive folder"
		case strings.Contains(seg, ".rejected-"), strings.Contains(seg, ".archived-"):
			return "an archived or rejected file"
		}
	}
	return ""
}

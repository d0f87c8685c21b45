package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/archive"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
)

func newArchiveCmd(e *env) *cobra.Command {
	var reason, note string
	var dryRun, force bool
	var rt runtimeFlags
	c := &cobra.Command{
		Use:   "archive FILE...",
		Short: "Move retired config files into archived/docker_configs_YYYYMMDD/ with a manifest",
		Long: `Archive moves files into the dated archive folder (archive_dir in vllmctl.yaml,
default archived/) and records each in MANIFEST.json and MANIFEST.md: original
path, sha256, size, reason, note, date and profile. It is crash-safe: the copy
is written and verified before the manifest lists it, and the original is
removed last; an interrupted run is completed by the next archive command.
A profile that is deployed is refused unless --force.`,
		Example: `  vllmctl archive docker-compose-qwen3-medium.yml --reason "superseded by profiles/medium.yml"
  vllmctl archive list
  vllmctl archive restore 20251016
  vllmctl archive prune --older-than 6mo --yes`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			st := archive.Store{Root: p.Root, Dir: p.Config.ArchiveDir}
			var reqs []archive.Request
			running := map[string]bool{}
			if be, err := e.backend(p, rt); err == nil && !force {
				if insts, err := be.List(e.ctx, p.Config.ProjectName, ""); err == nil {
					for _, in := range insts {
						if in.State == runtime.Running {
							running[in.Profile] = true
						}
					}
				}
			}
			for _, a := range args {
				profile := ""
				abs, _ := filepath.Abs(a)
				for _, pr := range p.Profiles {
					if filepath.Join(p.Root, filepath.FromSlash(pr.File)) == abs {
						profile = pr.Name
					}
				}
				if profile != "" && running[profile] && !force {
					return &exitError{code: ExitFindings, err: fmt.Errorf("%s is the config of profile %s, which is deployed: vllmctl down %s first, or pass --force", a, profile, profile)}
				}
				reqs = append(reqs, archive.Request{Path: abs, Profile: profile})
			}
			done, err := st.Move(reqs, reason, note, time.Now(), dryRun)
			for _, d := range done {
				verb := "archived"
				if dryRun {
					verb = "would archive"
				}
				fmt.Fprintf(e.stdout, "%s %s → %s/%s (sha256 %s)\n", verb, d.Original, st.Folder(time.Now()), d.File, d.SHA256[:12])
			}
			if err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			return nil
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why the files are retired (required)")
	c.Flags().StringVar(&note, "note", "", "a longer note for the manifest")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be moved")
	c.Flags().BoolVar(&force, "force", false, "archive a deployed profile's file anyway")
	rt.register(c)
	c.AddCommand(newArchiveListCmd(e), newArchiveShowCmd(e), newArchiveRestoreCmd(e), newArchivePruneCmd(e))
	return c
}

func archiveStore(e *env) (*project.Project, archive.Store, error) {
	p, err := e.load(project.Options{})
	if err != nil {
		return nil, archive.Store{}, err
	}
	return p, archive.Store{Root: p.Root, Dir: p.Config.ArchiveDir}, nil
}

func newArchiveListCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List the dated archives",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := archiveStore(e)
			if err != nil {
				return err
			}
			all, err := st.List()
			if err != nil {
				return err
			}
			return e.render(all, func(w io.Writer) error {
				if len(all) == 0 {
					fmt.Fprintf(w, "no archives in %s\n", st.Dir)
					return nil
				}
				t := newTable(w, "ARCHIVE", "DATE", "FILES", "REASONS")
				for _, a := range all {
					reasons := map[string]bool{}
					var rs []string
					for _, en := range a.Entries {
						if !reasons[en.Reason] {
							reasons[en.Reason] = true
							rs = append(rs, en.Reason)
						}
					}
					t.row(a.Path, a.Date.Format("2006-01-02"), fmt.Sprint(len(a.Entries)), truncate(strings.Join(rs, "; "), 80))
				}
				return t.flush()
			})
		},
	}
	addOutput(c, e)
	return c
}

func newArchiveShowCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "show DATE",
		Short: "Show one archive's manifest (DATE as YYYYMMDD or YYYY-MM-DD)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := archiveStore(e)
			if err != nil {
				return err
			}
			a, err := st.Find(args[0])
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			return e.render(a, func(w io.Writer) error {
				t := newTable(w, "FILE", "ORIGINAL", "PROFILE", "REASON", "SHA256")
				for _, en := range a.Entries {
					sum := en.SHA256
					if len(sum) > 12 {
						sum = sum[:12]
					}
					t.row(en.File, en.Original, en.Profile, en.Reason, sum)
				}
				return t.flush()
			})
		},
	}
	addOutput(c, e)
	return c
}

func newArchiveRestoreCmd(e *env) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "restore FILE|DATE",
		Short: "Put archived files back where they came from",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := archiveStore(e)
			if err != nil {
				return err
			}
			done, err := st.Restore(args[0], force)
			for _, d := range done {
				fmt.Fprintf(e.stdout, "restored %s\n", d.Original)
			}
			if err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite a file that exists at the original path")
	return c
}

func newArchivePruneCmd(e *env) *cobra.Command {
	var older string
	var yes bool
	c := &cobra.Command{
		Use:   "prune",
		Short: "Delete archives older than the retention (archive_retention, default 6mo)",
		Long: `Prune lists the archives older than --older-than (default: archive_retention of
vllmctl.yaml, 6mo) and deletes them with --yes. An archive holding a file that
the deploy history references is never deleted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, st, err := archiveStore(e)
			if err != nil {
				return err
			}
			if older == "" {
				older = p.Config.ArchiveRetention
			}
			age, err := archive.ParseAge(older)
			if err != nil {
				return usageErr("--older-than: %v", err)
			}
			refs := map[string]bool{}
			hist, _ := deploy.New(p, nil).History("")
			for _, r := range hist {
				for _, s := range r.Sources {
					refs[s.SHA256] = true
				}
			}
			del, kept, err := st.Prune(age, time.Now(), refs, yes)
			for _, k := range kept {
				fmt.Fprintf(e.stdout, "keep    %s (referenced by the deploy history)\n", k.Path)
			}
			for _, d := range del {
				verb := "would delete"
				if yes {
					verb = "deleted"
				}
				fmt.Fprintf(e.stdout, "%s %s (%s, %d file(s))\n", verb, d.Path, d.Date.Format("2006-01-02"), len(d.Entries))
			}
			if len(del) == 0 {
				fmt.Fprintf(e.stdout, "nothing older than %s\n", older)
			} else if !yes {
				fmt.Fprintln(e.stdout, "pass --yes to delete them")
			}
			return err
		},
	}
	c.Flags().StringVar(&older, "older-than", "", "age such as 6mo, 8w, 90d, 1y (default: archive_retention)")
	c.Flags().BoolVar(&yes, "yes", false, "really delete")
	return c
}

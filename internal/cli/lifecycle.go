package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/archive"
	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/audit"
	"github.com/vllmctl/vllmctl/internal/configdiff"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/docs"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
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
	sp, err := project.Load(e.ctx, project.Options{Root: p.Root, Files: []string{arg}, Environ: e.environ})
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
			if err := e.checkOutput(); err != nil {
				return err
			}
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
			if e.output != "table" {
				note = e.stderr // the data keeps its shape: a list of changes
			}
			for _, side := range res.NoEngine {
				name := an
				if side == "B" {
					name = bn
				}
				fmt.Fprintf(note, "note: %s has no recognised vLLM engine: compose services compared as written (command as text)\n", name)
			}
			if e.output != "table" {
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

func newAuditCmd(e *env) *cobra.Command {
	var archives, apply bool
	var rt runtimeFlags
	c := &cobra.Command{
		Use:   "audit [DIR]",
		Short: "Find every compose file, group variants, tell which is live and propose keep/archive",
		Long: `Audit scans every compose file under DIR (default: the project root; archive
folders too with --archives), recognises the vLLM services, groups the files
that configure the same thing (the model served, else the compose service),
lists the flags that changed against the group's live file, marks the profile
running now (by container labels), and proposes a plan: keep or archive, with a
reason per file. The live file of a group is its active profile; else the
newest stand-alone file that passes check and is not archived or rejected
(x.rejected-DATE.yml), by the date in the names, then the modification time;
a tie is reported as a tie and nothing is proposed. --apply archives what the
plan says, keeping each file's folder inside the dated archive folder.`,
		Example: "  vllmctl audit\n  vllmctl audit --archives -o json\n  vllmctl audit --apply",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			o := audit.Options{IncludeArchives: archives}
			if len(args) == 1 {
				o.Dir = args[0]
			}
			if be, err := runtime.NewDocker(e.ctx, ""); err == nil {
				if insts, err := be.List(e.ctx, p.Config.ProjectName, ""); err == nil {
					for _, in := range insts {
						if in.State == runtime.Running {
							o.Running = append(o.Running, audit.Running{Profile: in.Profile, Hash: in.Hash, Name: in.Name})
						}
					}
				}
				if foreign, err := be.Foreign(e.ctx); err == nil {
					for _, f := range foreign {
						o.Unlabeled = append(o.Unlabeled, audit.Unlabeled{Name: f.Name, Argv: f.Argv})
					}
				}
			}
			rep, err := audit.Run(e.ctx, p, o)
			if err != nil {
				return err
			}
			if e.output != "table" {
				if err := writeData(e.stdout, e.output, rep); err != nil {
					return err
				}
			} else {
				printAudit(e, rep)
			}
			if !apply {
				return nil
			}
			st := archive.Store{Root: p.Root, Dir: p.Config.ArchiveDir}
			for _, f := range rep.Files {
				if f.Action != audit.ActionArchive {
					continue
				}
				now := time.Now()
				done, err := st.Move([]archive.Request{{Path: f.Path, Profile: f.Group}}, "audit: "+f.Reason, "", now, false)
				if err != nil {
					return err
				}
				for _, d := range done { // the folder structure is kept inside the dated folder
					fmt.Fprintf(e.stdout, "archived %s → %s/%s\n", d.Original, st.Folder(now), d.File)
				}
			}
			return nil
		},
	}
	rt.register(c)
	c.Flags().BoolVar(&archives, "archives", false, "scan the archive folder too")
	c.Flags().BoolVar(&apply, "apply", false, "archive the files the plan marks archive")
	addOutput(c, e)
	return c
}

func printAudit(e *env, rep audit.Report) {
	w := e.stdout
	for _, f := range rep.Files {
		extra := ""
		if f.Errors > 0 {
			extra = fmt.Sprintf(", %d check error(s)", f.Errors)
		}
		if f.Running != "" {
			extra += ", " + f.Running
		}
		fmt.Fprintf(w, "%-7s %s [%s%s]\n", strings.ToUpper(string(f.Action)), f.Path, f.Kind, extra)
		fmt.Fprintf(w, "        %s; %s\n", f.Relation, f.Reason)
		if f.Skipped != "" && f.Action == audit.ActionKeep && !strings.Contains(f.Reason, f.Skipped) && f.Kind != audit.KindArchived {
			fmt.Fprintf(w, "        not proposed as live: %s\n", f.Skipped)
		}
		for _, ch := range f.Changes {
			fmt.Fprintf(w, "          %s\n", ch)
		}
	}
	if len(rep.Decisions) > 0 {
		fmt.Fprintln(w, "\nlive config per group:")
	}
	for _, d := range rep.Decisions {
		switch {
		case d.Rule == audit.RuleTie:
			fmt.Fprintf(w, "  %s: none: tie between %s (%s)\n", d.Group, strings.Join(d.Tied, ", "), d.Detail)
		case d.Live == "":
			fmt.Fprintf(w, "  %s: none (%s)\n", d.Group, d.Detail)
		case d.Adopt != "":
			fmt.Fprintf(w, "  %s: %s, to adopt as %s (rule: %s; %s)\n", d.Group, d.Live, d.Adopt, d.Rule, d.Detail)
		default:
			fmt.Fprintf(w, "  %s: %s (rule: %s)\n", d.Group, d.Live, d.Rule)
		}
	}
	keep, arch := 0, 0
	for _, f := range rep.Files {
		if f.Action == audit.ActionArchive {
			arch++
		} else {
			keep++
		}
	}
	fmt.Fprintf(w, "\n%d file(s): keep %d, archive %d (vllmctl audit --apply does it)\n", len(rep.Files), keep, arch)
}

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
			if err := e.checkOutput(); err != nil {
				return err
			}
			_, st, err := archiveStore(e)
			if err != nil {
				return err
			}
			all, err := st.List()
			if err != nil {
				return err
			}
			if e.output != "table" {
				return writeData(e.stdout, e.output, all)
			}
			if len(all) == 0 {
				fmt.Fprintf(e.stdout, "no archives in %s\n", st.Dir)
				return nil
			}
			t := newTable(e.stdout, "ARCHIVE", "DATE", "FILES", "REASONS")
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
			if err := e.checkOutput(); err != nil {
				return err
			}
			_, st, err := archiveStore(e)
			if err != nil {
				return err
			}
			a, err := st.Find(args[0])
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if e.output != "table" {
				return writeData(e.stdout, e.output, a)
			}
			t := newTable(e.stdout, "FILE", "ORIGINAL", "PROFILE", "REASON", "SHA256")
			for _, en := range a.Entries {
				sum := en.SHA256
				if len(sum) > 12 {
					sum = sum[:12]
				}
				t.row(en.File, en.Original, en.Profile, en.Reason, sum)
			}
			return t.flush()
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

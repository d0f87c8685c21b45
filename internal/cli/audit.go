package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/archive"
	"github.com/vllmctl/vllmctl/internal/audit"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
)

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
			if e.output != formatTable {
				if err := writeData(e.stdout, e.output, rep); err != nil {
					return err
				}
			} else {
				printAudit(e, rep)
			}
			if !apply {
				return nil
			}
			moved, err := audit.Apply(rep, archive.Store{Root: p.Root, Dir: p.Config.ArchiveDir}, time.Now)
			for _, m := range moved {
				fmt.Fprintf(e.stdout, "archived %s → %s\n", m.Original, m.Dest)
			}
			return err
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

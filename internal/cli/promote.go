package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/archive"
	"github.com/vllmctl/vllmctl/internal/bench"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/promote"
)

type promoteFlags struct {
	over    string
	gate    string
	recover bool
	guard   string
	rt      runtimeFlags
	gpu     gpuFlags
}

func newPromoteCmd(e *env) *cobra.Command {
	var f promoteFlags
	c := &cobra.Command{
		Use:   "promote CANDIDATE --over LIVE",
		Short: "Replace a live profile by a candidate only if it measures as well: bench, probes, keep or roll back",
		Long: `Promote replaces the running profile LIVE by CANDIDATE, an alternative of it
(one container_name or x-vllmctl.group, or x-vllmctl.alternatives: they run
on the same GPUs and port), and keeps the candidate only when it passes:

  1. bench LIVE as it runs (the gate's concurrency and duration, its probes)
  2. deploy CANDIDATE in its place (LIVE comes back at once if it never gets ready)
  3. one smoke request
  4. bench CANDIDATE and run the probes
  5. gate: no gated metric worse (bench compare's verdict), probes not worse
     (McNemar) and at least min_probe_pass_rate
  6. keep: LIVE's file is archived "superseded by CANDIDATE"; or roll back:
     LIVE is deployed again and CANDIDATE's file is archived "rejected: <reason>"

gate.yaml (every key optional):

  concurrency: [4]
  duration: 5s
  metrics: [output tokens/s, TTFT p99, E2E p50, error rate]
  min_effect: 0.03
  probes: probes.jsonl
  min_probe_pass_rate: 0.9

Each step is written to .vllmctl/promote/<id>.json before and after it runs,
with the profile believed to run; deploys are in 'vllmctl history' (their
trigger names the promotion) and both bench results in 'vllmctl bench list'.
A promotion killed midway is finished by its recovery guard: before it
changes anything, promote starts a detached 'vllmctl promote --guard ID'
(output in .vllmctl/promote/<id>.guard.log) that waits on the promotion's
lock, which the kernel releases when the promoting vllmctl dies. Without it
(a reboot), the next 'vllmctl promote' (or 'vllmctl promote --recover', or
'vllmctl serve') finishes it: LIVE is deployed again when neither runs or no
decision was made, a decided archive is completed, and the journal says which
profile runs.

Exit status: 0 kept, 1 rolled back (or failed), 2 usage.`,
		Example: `  vllmctl promote medium-next --over medium
  vllmctl promote medium-next --over medium --gate gate.yaml --simulate --runtime process
  vllmctl promote --recover`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPromote(e, cmd, f, args) },
	}
	c.Flags().StringVar(&f.over, "over", "", "the live profile the candidate replaces")
	c.Flags().StringVar(&f.gate, "gate", "", "gate file (YAML): concurrency, duration, metrics, min_effect, probes, min_probe_pass_rate")
	c.Flags().BoolVar(&f.recover, "recover", false, "only finish promotions a killed vllmctl left unfinished")
	c.Flags().StringVar(&f.guard, "guard", "", "run as the recovery guard of promotion `ID` (started by promote itself)")
	_ = c.Flags().MarkHidden("guard")
	f.rt.register(c)
	f.gpu.register(c)
	addOutput(c, e)
	return c
}

func runPromote(e *env, c *cobra.Command, f promoteFlags, args []string) error {
	if !f.recover && f.guard == "" && (len(args) != 1 || f.over == "") {
		return usageErr("promote CANDIDATE --over LIVE (or promote --recover)")
	}
	p, dep, err := e.located(c, f.rt)
	if err != nil {
		return err
	}
	gate := promote.DefaultGate()
	if f.gate != "" {
		if gate, err = promote.LoadGate(f.gate); err != nil {
			return usageErr("--gate: %v", err)
		}
	}
	o := e.promoteOptions(p, dep, f.rt, f.gpu)
	if f.guard != "" {
		return runGuard(e, o, dep, f.guard)
	}
	o.Gate = gate
	o.Guard = e.startGuard(c, p, o.Journals)
	if gate.Probes != "" {
		path := gate.Probes
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.Root, path)
		}
		fh, err := os.Open(path)
		if err != nil {
			return usageErr("gate probes: %v", err)
		}
		o.Probes, err = bench.ReadProbes(gate.Probes, fh)
		fh.Close()
		if err != nil {
			return usageErr("%v", err)
		}
		o.ProbeFile = gate.Probes
	}
	recovered, err := promote.Recover(e.ctx, dep, o)
	for _, j := range recovered {
		fmt.Fprintf(e.stderr, "recovered promotion %s: %s runs (%s)\n", j.ID, j.Running, j.Outcome)
	}
	if err != nil {
		return &exitError{code: ExitFindings, err: err}
	}
	if f.recover {
		if e.output != formatTable {
			if recovered == nil {
				recovered = []*promote.Journal{}
			}
			return writeData(e.stdout, e.output, recovered)
		}
		if len(recovered) == 0 {
			fmt.Fprintln(e.stdout, "no unfinished promotion")
		}
		return nil
	}
	for _, name := range []string{args[0], f.over} {
		if _, err := p.Profile(name); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
	}
	o.Candidate, o.Live = args[0], f.over
	j, err := promote.Run(e.ctx, dep, o)
	if e.output != formatTable {
		if werr := writeData(e.stdout, e.output, j); werr != nil {
			return werr
		}
	} else if j != nil {
		runs := j.Running + " runs"
		if j.Running == "" {
			runs = "neither " + j.Live + " nor " + j.Candidate + " runs"
		}
		fmt.Fprintf(e.stdout, "%s: %s; %s\n", j.ID, j.Outcome, runs)
		if j.Reason != "" {
			fmt.Fprintf(e.stdout, "reason: %s\n", redactorFor(p).String(j.Reason))
		}
		if j.LiveBench != "" && j.CandidateBench != "" {
			fmt.Fprintf(e.stdout, "measured: vllmctl bench compare %s %s\n", j.LiveBench, j.CandidateBench)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, promote.ErrRejected):
		return &exitError{code: ExitFindings}
	case errors.Is(err, promote.ErrNotAlternatives):
		return &exitError{code: ExitUsage, err: err}
	}
	return &exitError{code: ExitFindings, err: err}
}

// promoteOptions is what a promotion (and its recovery, in promote and in
// serve) deploys and measures with: the flags' runtime and inventory, the
// project's bench, archive and journal folders; steps are printed on stderr.
func (e *env) promoteOptions(p *project.Project, dep *deploy.Deployer, rt runtimeFlags, g gpuFlags) promote.Options {
	inv, src, _ := e.inventory(p, g)
	red := redactorFor(p)
	return promote.Options{Gate: promote.DefaultGate(),
		Up: deploy.UpOptions{Version: Version, Simulate: rt.simulate, SimBinary: rt.simBin, Inventory: inv, InventorySource: src, Completion: true,
			StallOther: 10 * time.Minute, StallLoading: 30 * time.Minute, Redact: red},
		Describe: func(r *bench.Result) {
			eng, _ := bench.Engine(p, r.Profile)
			bench.Facts(e.ctx, r, dep.Store, eng, r.URL, inv, src)
		},
		Bench:    benchStore(p),
		Archive:  archive.Store{Root: p.Root, Dir: p.Config.ArchiveDir},
		Journals: promoteJournals(p),
		OnStep: func(j *promote.Journal, s promote.Step) {
			fmt.Fprintf(e.stderr, "promote %s: %s %s %s\n", j.ID, s.Name, s.Status, red.String(s.Detail))
		}}
}

// promoteJournals is the project's folder of promotion journals.
func promoteJournals(p *project.Project) promote.Journals {
	return promote.Journals{Dir: filepath.Join(deploy.New(p, nil).Store.Dir, "promote")}
}

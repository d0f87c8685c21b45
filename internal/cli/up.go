package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/cli/progress"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/state"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

type upFlags struct {
	rt         runtimeFlags
	target     targetFlags
	gpu        gpuFlags
	dryRun     bool
	rollback   bool
	replace    bool
	force      bool
	noComplete bool
	skipPlan   bool
	stall      time.Duration
	stallLoad  time.Duration
	progress   string
}

func newUpCmd(e *env) *cobra.Command {
	var f upFlags
	c := &cobra.Command{
		Use:   "up [PROFILE...]",
		Short: "Deploy profiles and follow each engine until it answers",
		Long: `Up runs 'check' (errors stop it), writes the fully resolved compose file of each
profile to .vllmctl/deploys/ and applies it with the Compose CLI the machine has
(docker compose v2 or docker-compose v1, project name <project>-<profile>,
--env-file at the root), or runs the engine as a child process (--runtime process).

It follows the engine's log from the first line, classifies every line (startup
phases, fatal errors, warnings), and probes /health, then /v1/models (the served
name must be listed), then one tiny completion. Ready means it answered.
A fatal line or an exit fails at once with the diagnosis, the fix and the last
30 log lines. Stall timeouts restart at every phase; there is no fixed total.

Before anything changes, up compares the profile with what runs now: a host
port bound by anything else, a GPU whose running engines' memory shares plus
this profile's exceed 1.0, a container_name held by a container this project
did not start. Each is reported like check (file:line, what, the fix) and up
refuses unless --force.

Alternatives (profiles sharing a container_name or an x-vllmctl.group, or
naming each other in x-vllmctl.alternatives) run one at a time: up of one
while another runs replaces it, after asking on a terminal, or at once with
--replace; without a terminal and without --replace it refuses. If the new
profile does not become ready, it is removed and the one it replaced is
deployed again as recorded. Both are kept in the history.

Up records where each deploy runs (runtime, Compose CLI, simulator): down,
status, logs and restart find the profile there without --runtime.

With --target kubernetes, up applies the objects 'export kubernetes' writes
(server-side apply, field manager vllmctl; the Secret only when every value is
known) to the cluster of --context and follows each Deployment's rollout to a
ready pod, or to a diagnosis with its fix (FailedScheduling for GPUs, taints or
selectors, ImagePullBackOff, CrashLoopBackOff, OOMKilled, a missing Secret).
With --rollback-on-failure, the Deployment and Service the cluster ran ready
before (as vllmctl applied them; else the last ready deploy recorded under
.vllmctl/kubernetes/<context>/<namespace>/) are applied again and followed to
ready; the history there records the failure and the rollback.

Exit status: 0 ready, 1 engine failure (or the replacement declined), 2 usage
(an alternative runs and there is neither --replace nor a terminal; a damaged
state file), 3 config errors or clashes with what runs now (nothing deployed),
4 startup stalled.`,
		Example: `  vllmctl up medium
  vllmctl up --simulate                       # rehearse every profile on vllm-sim
  vllmctl up medium --dry-run                 # print the compose command
  vllmctl up medium --rollback-on-failure
  vllmctl up medium-long --replace            # stop the running alternative (medium) first
  vllmctl up medium --target kubernetes --context prod   # server-side apply, follow the rollout`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(e, f, args)
		},
	}
	f.register(c, e)
	return c
}

// register adds the flags shared by up and restart.
func (f *upFlags) register(c *cobra.Command, e *env) {
	f.rt.register(c)
	f.gpu.register(c)
	f.target.register(c)
	c.Flags().BoolVar(&f.dryRun, "dry-run", false, "print what would run and the resolved file, change nothing")
	c.Flags().BoolVar(&f.rollback, "rollback-on-failure", false, "redeploy the previous good resolved file of the profile when this one fails")
	c.Flags().BoolVar(&f.replace, "replace", false, "stop the running alternatives of the profile without asking (they come back if it fails)")
	c.Flags().BoolVar(&f.force, "force", false, "deploy past clashes with what runs now (ports, GPU memory, container names)")
	c.Flags().BoolVar(&f.noComplete, "no-completion-probe", false, "declare ready after /v1/models, without a tiny completion")
	c.Flags().BoolVar(&f.skipPlan, "skip-plan", false, "deploy even when the memory plan predicts a failure (when the model facts are off)")
	c.Flags().DurationVar(&f.stall, "stall-timeout", 10*time.Minute, "fail when no startup progress comes for this long")
	c.Flags().DurationVar(&f.stallLoad, "download-timeout", 30*time.Minute, "the same while downloading or loading weights (silent while downloading)")
	c.Flags().StringVar(&f.progress, "progress", "auto", "auto, tty, plain or json (one event per line)")
	addOutput(c, e)
}

func runUp(e *env, f upFlags, args []string) error {
	if k8s, err := f.target.kubernetes(); err != nil || k8s {
		if err != nil {
			return err
		}
		return upKubernetes(e, f, args)
	}
	p, err := e.load(project.Options{})
	if err != nil {
		return err
	}
	if len(args) == 0 {
		for _, pr := range p.Profiles {
			args = append(args, pr.Name)
		}
	}
	for _, a := range args {
		if _, err := p.Profile(a); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
	}
	be, err := e.backend(p, f.rt)
	if err != nil {
		return err
	}
	inv, invSrc, err := e.inventory(p, f.gpu)
	if err != nil {
		return err
	}
	// With -o json or yaml, stdout carries one document (every profile's
	// result); progress goes to stderr (JSON lines with --progress json).
	mode, progressOut := f.progress, e.stdout
	if e.output != formatTable {
		progressOut = e.stderr
		if mode == "auto" || mode == "" {
			mode = "plain"
		}
	}
	rend, err := progress.New(mode, progressOut)
	if err != nil {
		return usageErr("%v", err)
	}
	red := redactorFor(p)
	dep := deploy.NewLocated(p, deploy.NewRuntimes(be, false, deploy.New(p, nil).Store.Dir))
	var results []deploy.UpResult
	var firstErr error
	var failed []string
	confirm := e.confirm()
	for _, name := range args {
		res, err := dep.Up(e.ctx, name, deploy.UpOptions{Version: Version, Simulate: f.rt.simulate, SimBinary: f.rt.simBin, Inventory: inv, InventorySource: invSrc,
			DryRun: f.dryRun, RollbackOnFailure: f.rollback, SkipPlan: f.skipPlan, Completion: !f.noComplete, StallOther: f.stall, StallLoading: f.stallLoad,
			OnEvent: rend.Event, Redact: red, Replace: f.replace, Force: f.force, Confirm: confirm})
		rend.Close()
		results = append(results, res)
		switch {
		case e.output != formatTable:
			if err != nil {
				fmt.Fprintf(e.stderr, "%s: %s\n", name, red.String(err.Error()))
			}
		case f.dryRun:
			for _, c := range res.Commands {
				fmt.Fprintln(e.stdout, red.String(shellJoin(c)))
			}
			if res.Resolved != "" {
				fmt.Fprintf(e.stdout, "# %s, written when it deploys (secrets as references to their variables):\n%s", res.File, red.String(res.Resolved))
				if !strings.HasSuffix(res.Resolved, "\n") {
					fmt.Fprintln(e.stdout)
				}
			}
		default:
			summarize(e, res, err, red.String)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if err != nil {
			failed = append(failed, name)
		}
		if errors.Is(err, context.Canceled) || e.ctx.Err() != nil {
			break // interrupted: the remaining profiles are not tried
		}
		// A failure does not stop the others: each profile is tried and reported.
		rend, _ = progress.New(mode, progressOut)
	}
	if e.output != formatTable {
		if err := writeData(e.stdout, e.output, results); err != nil {
			return err
		}
	}
	if len(failed) > 0 && len(args) > 1 {
		fmt.Fprintf(e.stderr, "%d of %d profile(s) failed: %s\n", len(failed), len(args), strings.Join(failed, ", "))
	}
	return upExit(firstErr)
}

func upExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, deploy.ErrConfig), errors.Is(err, deploy.ErrClash):
		return &exitError{code: ExitConfig, err: err}
	case errors.Is(err, deploy.ErrAlternativeRunning), errors.Is(err, state.ErrCorrupt):
		return &exitError{code: ExitUsage, err: err}
	case errors.Is(err, deploy.ErrTimeout):
		return &exitError{code: ExitTimeout, err: err}
	case errors.Is(err, context.Canceled):
		return &exitError{code: ExitFindings, err: errors.New("interrupted")}
	}
	return &exitError{code: ExitFindings, err: err}
}

func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'$&|;<>(){}*?") {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			out[i] = a
		}
	}
	return strings.Join(out, " ")
}

// summarize prints the end of a deploy: time per phase, what vLLM reported
// next to the plan, or the diagnosis, the fix and the last lines.
func summarize(e *env, res deploy.UpResult, err error, red func(string) string) {
	w := e.stdout
	m := res.Monitor
	if m == nil {
		printRestored(w, res) // the error itself is reported by Main
		return
	}
	for _, a := range res.Replaced {
		fmt.Fprintf(w, "%s replaced %s (%s)\n", res.Profile, a.Profile, a.Reason)
	}
	if m.Outcome == monitor.Ready {
		fmt.Fprintf(w, "%s ready in %.1fs (deploy %s, config %s)\n", res.Profile, m.Elapsed.Seconds(), res.Record.ID, res.Record.Hash)
	} else {
		fmt.Fprintf(w, "%s %s after %.1fs in phase %s\n", res.Profile, strings.ToUpper(string(m.Outcome)), m.Elapsed.Seconds(), m.Phase)
	}
	var phases []string
	for _, ph := range vllm.Phases {
		if s, ok := m.PhaseTimes[ph]; ok {
			phases = append(phases, fmt.Sprintf("%s %.1fs", ph, s))
		}
	}
	if len(phases) > 0 {
		fmt.Fprintf(w, "  phases: %s\n", strings.Join(phases, ", "))
	}
	if len(m.Reported) > 0 {
		fmt.Fprintf(w, "  KV cache: %s\n", plan.CompareReported(res.Planned, m.Reported))
	}
	if m.Outcome == monitor.Ready {
		return
	}
	if m.Diagnosis != "" {
		fmt.Fprintf(w, "  diagnosis: %s\n", red(m.Diagnosis))
	}
	if m.RootCause != "" {
		fmt.Fprintf(w, "  cause: %s\n", red(m.RootCause))
	}
	if fix := m.ConcreteFix(); fix != "" {
		fmt.Fprintf(w, "  fix: %s\n", fix)
	}
	if res.RolledBack != nil {
		fmt.Fprintf(w, "  rolled back to config %s: %s\n", res.RolledBack.Hash, res.RolledBack.Outcome)
	}
	printRestored(w, res)
	fmt.Fprintf(w, "  last %d log lines:\n", len(m.Tail))
	for _, l := range m.Tail {
		fmt.Fprintf(w, "    %s\n", red(l))
	}
}

// printRestored says which replaced alternatives were brought back.
func printRestored(w io.Writer, res deploy.UpResult) {
	for _, r := range res.Restored {
		if r.Outcome == state.Ready {
			fmt.Fprintf(w, "  brought %s back (its deploy %s, config %s): ready\n", r.Profile, r.ReplayOf, r.Hash)
		} else {
			fmt.Fprintf(w, "  %s could NOT be brought back (%s): vllmctl up %s\n", r.Profile, orDash(r.Diagnosis), r.Profile)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/cli/progress"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Exit codes of up and restart beyond the common ones.
const (
	ExitConfig  = 3 // check found errors: nothing was deployed
	ExitTimeout = 4 // the engine stalled
)

type runtimeFlags struct {
	runtime  string
	compose  string
	simulate bool
	simBin   string
}

func (f *runtimeFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.runtime, "runtime", "auto", "docker, process, or auto (docker when an engine answers, else process)")
	c.Flags().StringVar(&f.compose, "compose", "auto", "Compose CLI for the docker runtime: v2 (docker compose), v1 (docker-compose) or auto")
	c.Flags().BoolVar(&f.simulate, "simulate", false, "run the profile on vllm-sim (image vllm-sim:dev, or the binary with --runtime process): no GPU needed")
	c.Flags().StringVar(&f.simBin, "sim-binary", "", "vllm-sim binary for --simulate with the process runtime (default: next to vllmctl, else PATH)")
}

func (e *env) backend(p *project.Project, f runtimeFlags) (runtime.Backend, error) {
	dep := deploy.New(p, nil)
	proc := &runtime.Process{StateDir: dep.Store.Dir}
	switch f.runtime {
	case "process":
		return proc, nil
	case "docker", "auto":
		prefer := f.compose
		if prefer == "auto" {
			prefer = ""
		}
		d, err := runtime.NewDocker(e.ctx, prefer)
		if err == nil {
			return d, nil
		}
		if f.runtime == "docker" {
			return nil, err
		}
		if _, lerr := exec.LookPath("docker"); lerr == nil {
			fmt.Fprintf(e.stderr, "note: docker runtime unavailable (%v); using the process runtime\n", err)
		}
		return proc, nil
	}
	return nil, usageErr("--runtime %q: use docker, process or auto", f.runtime)
}

// runtimes is the runtime of the flags for new deploys, and the runtime each
// deployed profile's record names for everything else; pinned (the command
// was given --runtime or --compose) looks for every profile on the flags' runtime.
func (e *env) runtimes(p *project.Project, rt runtimeFlags, pinned bool) (*deploy.Runtimes, error) {
	be, err := e.backend(p, rt)
	if err != nil {
		return nil, err
	}
	return deploy.NewRuntimes(be, pinned, deploy.New(p, nil).Store.Dir), nil
}

// located loads the project for a verb on deployed profiles (down, status,
// logs): each profile is found where up recorded it, unless the command was
// given --runtime or --compose.
func (e *env) located(c *cobra.Command, rt runtimeFlags) (*project.Project, *deploy.Deployer, error) {
	p, err := e.load(project.Options{})
	if err != nil {
		return nil, nil, err
	}
	rts, err := e.runtimes(p, rt, pinnedRuntime(c))
	if err != nil {
		return nil, nil, err
	}
	return p, deploy.NewLocated(p, rts), nil
}

// pinnedRuntime: the command line names the runtime.
func pinnedRuntime(c *cobra.Command) bool {
	return c.Flags().Changed("runtime") || c.Flags().Changed("compose")
}

// stateErr gives a damaged state file exit status 2 (a project that cannot
// be read as it is), a missing record 1; other errors pass.
func stateErr(err error) error {
	var ee *exitError
	switch {
	case err == nil || errors.As(err, &ee):
		return err
	case errors.Is(err, state.ErrCorrupt):
		return &exitError{code: ExitUsage, err: err}
	case errors.Is(err, deploy.ErrNoRecord):
		return &exitError{code: ExitFindings, err: err}
	}
	return err
}

// terminal reports whether r is an interactive terminal: a character device
// other than the null device (stdin of a service or a CI job).
func terminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(st, null) {
		return false
	}
	return true
}

// confirm asks a yes/no question on stderr and reads the answer from stdin;
// nil when stdin is not a terminal (nobody to ask).
func (e *env) confirm() func(string) (bool, error) {
	if !terminal(e.stdin) {
		return nil
	}
	in := bufio.NewReader(e.stdin)
	return func(q string) (bool, error) {
		fmt.Fprint(e.stderr, q)
		if f, ok := e.stderr.(interface{ Flush() error }); ok {
			_ = f.Flush()
		}
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return false, fmt.Errorf("no answer: %w", err)
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	}
}

type upFlags struct {
	rt         runtimeFlags
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

Exit status: 0 ready, 1 engine failure (or the replacement declined), 2 usage
(an alternative runs and there is neither --replace nor a terminal; a damaged
state file), 3 config errors or clashes with what runs now (nothing deployed),
4 startup stalled.`,
		Example: `  vllmctl up medium
  vllmctl up --simulate                       # rehearse every profile on vllm-sim
  vllmctl up medium --dry-run                 # print the compose command
  vllmctl up medium --rollback-on-failure
  vllmctl up medium-long --replace            # stop the running alternative (medium) first`,
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
	if err := e.checkOutput(); err != nil {
		return err
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
	inv, _, err := e.inventory(p, f.gpu)
	if err != nil {
		return err
	}
	// With -o json or yaml, stdout carries one document (every profile's
	// result); progress goes to stderr (JSON lines with --progress json).
	mode, progressOut := f.progress, e.stdout
	if e.output != "table" {
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
		res, err := dep.Up(e.ctx, name, deploy.UpOptions{Version: Version, Simulate: f.rt.simulate, SimBinary: f.rt.simBin, Inventory: inv,
			DryRun: f.dryRun, RollbackOnFailure: f.rollback, SkipPlan: f.skipPlan, Completion: !f.noComplete, StallOther: f.stall, StallLoading: f.stallLoad,
			OnEvent: rend.Event, Redact: red, Replace: f.replace, Force: f.force, Confirm: confirm})
		rend.Close()
		results = append(results, res)
		switch {
		case e.output != "table":
			if err != nil {
				fmt.Fprintf(e.stderr, "%s: %s\n", name, red.String(err.Error()))
			}
		case f.dryRun:
			for _, c := range res.Commands {
				fmt.Fprintln(e.stdout, red.String(shellJoin(c)))
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
	if e.output != "table" {
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
	if m.Outcome == "ready" {
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
	if m.Outcome == "ready" {
		return
	}
	if m.Diagnosis != "" {
		fmt.Fprintf(w, "  diagnosis: %s\n", red(m.Diagnosis))
	}
	if m.RootCause != "" {
		fmt.Fprintf(w, "  cause: %s\n", red(m.RootCause))
	}
	if fix := fixFor(m.Fatal, m.Values, m.Fix); fix != "" {
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
		if r.Outcome == "ready" {
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

// fixFor makes the generic fix concrete with the numbers vLLM printed.
func fixFor(fatal string, v map[string]float64, generic string) string {
	switch fatal {
	case "kv-too-small":
		if est := v["est_max_len"]; est > 0 {
			return fmt.Sprintf("lower --max-model-len to %d (vLLM's estimate), or raise --gpu-memory-utilization, or use --kv-cache-dtype fp8", int(est)/16*16)
		}
	case "free-memory":
		if v["total_gib"] > 0 {
			return fmt.Sprintf("lower --gpu-memory-utilization to %.2f (free %.2f of %.2f GiB) or free the GPU", v["free_gib"]/v["total_gib"]-0.02, v["free_gib"], v["total_gib"])
		}
	case "max-model-len":
		if d := v["derived"]; d > 0 {
			return fmt.Sprintf("lower --max-model-len to %d, or declare --rope-scaling", int(d))
		}
	}
	return generic
}

func newDownCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	c := &cobra.Command{
		Use:   "down [PROFILE...]",
		Short: "Remove profiles' containers (orphans too) and wait for their GPU memory to be released",
		Long: `Down stops and removes the containers of each profile (compose down
--remove-orphans with the resolved file of its last deploy), or the engine
process, then waits until nvidia-smi shows no process on the profile's GPUs
(where nvidia-smi exists): a leftover worker makes the next start run out of memory.
Each profile is removed where up recorded it (runtime, Compose CLI), unless
--runtime or --compose is given.`,
		Example: "  vllmctl down medium\n  vllmctl down            # every profile",
		RunE: func(cmd *cobra.Command, args []string) error {
			_, dep, err := e.located(cmd, rt)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				insts, unreachable, err := dep.Instances(e.ctx)
				if err != nil {
					return stateErr(err)
				}
				for n, err := range unreachable {
					fmt.Fprintf(e.stderr, "%s: %v\n", n, err)
				}
				seen := map[string]bool{}
				for _, in := range insts {
					if !seen[in.Profile] {
						seen[in.Profile] = true
						args = append(args, in.Profile)
					}
				}
				sort.Strings(args)
				if len(args) == 0 {
					fmt.Fprintln(e.stdout, "nothing is deployed")
					return nil
				}
			}
			for _, name := range args {
				if err := dep.Down(e.ctx, name, deploy.DownOptions{}); err != nil {
					return stateErr(err)
				}
				fmt.Fprintf(e.stdout, "%s: removed\n", name)
			}
			return nil
		},
	}
	rt.register(c)
	return c
}

func newRestartCmd(e *env) *cobra.Command {
	var f upFlags
	c := &cobra.Command{
		Use:   "restart PROFILE...",
		Short: "Redeploy profiles where they run and follow them until ready",
		Long: `Restart deploys each profile again from its files, as up does, on the runtime
its last deploy was recorded on: the same runtime, Compose CLI, --simulate and
simulator binary, unless given on the command line. A profile with no recorded
deploy is an error: deploy it with up.`,
		Example: "  vllmctl restart medium\n  vllmctl restart medium --runtime docker   # move it to docker",
		Args:    cobra.MinimumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runRestart(e, cmd, f, args) },
	}
	f.register(c, e)
	return c
}

// runRestart redeploys each profile with the runtime flags its last record
// holds, where the command line does not give them.
func runRestart(e *env, c *cobra.Command, f upFlags, args []string) error {
	p, err := e.load(project.Options{})
	if err != nil {
		return err
	}
	store := deploy.New(p, nil).Store
	for _, name := range args {
		if _, err := p.Profile(name); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
		rec, ok, err := store.Latest(name)
		if err != nil {
			return stateErr(err)
		}
		if !ok {
			return stateErr(fmt.Errorf("%w: no deploy of %s is recorded in %s: deploy it with 'vllmctl up %s'", deploy.ErrNoRecord, name, store.HistoryPath(), name))
		}
		ff := f
		w := rec.Where()
		if !c.Flags().Changed("runtime") && w.Kind != "" {
			ff.rt.runtime = string(w.Kind)
		}
		if !c.Flags().Changed("compose") && w.Compose != "" && !c.Flags().Changed("runtime") {
			ff.rt.compose = string(w.Compose)
		}
		if !c.Flags().Changed("simulate") {
			ff.rt.simulate = rec.Simulated
		}
		if !c.Flags().Changed("sim-binary") && rec.SimBinary != "" && ff.rt.simulate {
			ff.rt.simBin = rec.SimBinary
		}
		if err := runUp(e, ff, []string{name}); err != nil {
			return err
		}
	}
	return nil
}

func newLogsCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var follow bool
	var since time.Duration
	c := &cobra.Command{
		Use:     "logs PROFILE",
		Short:   "Print a profile's engine log with startup phases and errors marked",
		Example: "  vllmctl logs medium\n  vllmctl logs medium -f --since 10m",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, dep, err := e.located(cmd, rt)
			if err != nil {
				return err
			}
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			red := redactorFor(p)
			return stateErr(dep.Logs(e.ctx, args[0], follow, from, func(l string) {
				info := vllm.ClassifyLine(l)
				mark := "   "
				switch info.Kind {
				case vllm.KindPhase:
					mark = "▶  "
				case vllm.KindFatal:
					mark = "✘  "
				case vllm.KindWarning:
					mark = "!  "
				}
				fmt.Fprintln(e.stdout, mark+red.String(l))
			}))
		},
	}
	rt.register(c)
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	c.Flags().DurationVar(&since, "since", 0, "only lines newer than this (e.g. 10m)")
	return c
}

func newStatusCmd(e *env) *cobra.Command {
	var rt runtimeFlags
	var watch time.Duration
	c := &cobra.Command{
		Use:   "status [PROFILE...]",
		Short: "Show each profile: state, health, restarts, port, drift and load from /metrics",
		Long: `Status probes every profile concurrently: container or process state, /health,
ready since, restart count, served names, host port, config drift (the files now
against the config hash on the running engine), and from the engine's /metrics
the running and waiting requests, KV cache usage and generation tokens/s
(with --watch, between refreshes). Each profile is looked for where up
recorded it (runtime, Compose CLI), unless --runtime or --compose is given.`,
		Example: "  vllmctl status\n  vllmctl status --watch 2s\n  vllmctl status -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			_, dep, err := e.located(cmd, rt)
			if err != nil {
				return err
			}
			prev := map[string]deploy.ProfileStatus{}
			for {
				sts, err := dep.Status(e.ctx, args, prev, watch)
				if err != nil {
					return stateErr(err)
				}
				if watch > 0 && e.output == "table" {
					fmt.Fprint(e.stdout, "\033[H\033[2J")
				}
				if e.output != "table" {
					if err := writeData(e.stdout, e.output, sts); err != nil {
						return err
					}
				} else {
					printStatus(e, sts)
				}
				if watch <= 0 {
					for _, st := range sts {
						if errors.Is(st.Err, state.ErrCorrupt) {
							return &exitError{code: ExitUsage, err: st.Err} // a damaged record: the engine may run, unseen
						}
					}
					return nil
				}
				for _, s := range sts {
					prev[s.Profile] = s
				}
				select {
				case <-e.ctx.Done():
					return nil
				case <-time.After(watch):
				}
			}
		},
	}
	rt.register(c)
	c.Flags().DurationVar(&watch, "watch", 0, "refresh every interval (e.g. 2s) until interrupted")
	addOutput(c, e)
	return c
}

func printStatus(e *env, sts []deploy.ProfileStatus) {
	t := newTable(e.stdout, "PROFILE", "STATE", "HEALTH", "READY SINCE", "RESTARTS", "PORT", "SERVED", "DRIFT", "RUN/WAIT", "KV", "GEN TOK/S")
	f := func(p *float64, format string) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf(format, *p)
	}
	for _, s := range sts {
		drift := "no"
		if s.Drift {
			drift = "YES"
		}
		if s.State == "not deployed" {
			drift = ""
		}
		rw := ""
		if s.Running != nil && s.Waiting != nil {
			rw = fmt.Sprintf("%.0f/%.0f", *s.Running, *s.Waiting)
		}
		kv := ""
		if s.KVUsage != nil {
			kv = fmt.Sprintf("%.1f%%", *s.KVUsage*100)
		}
		t.row(s.Profile, s.State, s.Health, s.ReadySince, fmt.Sprint(s.Restarts), itoa(s.HostPort), strings.Join(s.Served, ","), drift, rw, kv, f(s.GenPerSec, "%.1f"))
	}
	_ = t.flush()
	for _, s := range sts {
		if s.Drift {
			fmt.Fprintf(e.stdout, "%s: %s\n", s.Profile, s.DriftReason)
		}
		if s.State == "unknown" && s.Error != "" {
			fmt.Fprintf(e.stdout, "%s: %s\n", s.Profile, s.Error)
		}
	}
}

func newHistoryCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:     "history [PROFILE]",
		Short:   "List past deploys: config hash, outcome, time to ready, diagnosis",
		Example: "  vllmctl history\n  vllmctl history medium -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			profile := ""
			if len(args) == 1 {
				profile = args[0]
			}
			h, err := deploy.New(p, nil).History(profile)
			if err != nil {
				return err
			}
			if e.output != "table" {
				return writeData(e.stdout, e.output, h)
			}
			if len(h) == 0 {
				fmt.Fprintln(e.stdout, "no deploys yet")
				return nil
			}
			t := newTable(e.stdout, "TIME", "PROFILE", "CONFIG", "RUNTIME", "OUTCOME", "TO READY", "DIAGNOSIS")
			for _, r := range h {
				ready := ""
				if r.ReadySecs > 0 {
					ready = fmt.Sprintf("%.1fs", r.ReadySecs)
				}
				rt := r.Runtime
				if r.Simulated {
					rt += " (sim)"
				}
				t.row(r.Time.Local().Format("2006-01-02 15:04:05"), r.Profile, r.Hash, rt, r.Outcome, ready, truncate(r.Diagnosis, 80))
			}
			return t.flush()
		},
	}
	addOutput(c, e)
	return c
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

package promote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/archive"
	"github.com/vllmctl/vllmctl/internal/bench"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Options configure Run.
type Options struct {
	Candidate, Live string
	Gate            Gate
	Probes          []bench.Probe // the gate's probe set, read by the caller
	ProbeFile       string
	// Up is the base of every deploy (runtime, simulation, inventory,
	// version, redaction, events); Replace is set by Run.
	Up deploy.UpOptions
	// Describe fills a bench result's facts (deploy, version, GPUs). Default: none.
	Describe func(r *bench.Result)
	Bench    bench.Store
	Archive  archive.Store
	Journals Journals
	// OnStep is told every step (progress). Default: nothing.
	OnStep func(j *Journal, s Step)
	// Guard starts, once the promotion holds its journal's lock and before
	// anything is stopped, a process that outlives this one and finishes the
	// promotion if this one dies (Guard in the guard process: it waits for
	// the lock). An error stops the promotion before it changes anything.
	// Default: none (the next promote, or serve, recovers).
	Guard func(id string) error
	// Hook is called after each journal write with the step name and
	// status: tests kill the process there. Default: nothing.
	Hook func(step, status string)
	Now  func() time.Time
}

// Errors of Run.
var (
	// ErrRejected: the candidate did not pass; the live profile runs again.
	ErrRejected = errors.New("candidate rejected")
	// ErrNotAlternatives: the candidate does not replace the live profile.
	ErrNotAlternatives = errors.New("candidate and live profile are not alternatives")
)

type runner struct {
	d *deploy.Deployer
	o Options
	j *Journal
	// recovering: finish ends the journal as Recovered, not as the decision's
	// outcome, so that no reader sees a recovery's journal with another one.
	recovering bool
}

func (r *runner) now() time.Time {
	if r.o.Now != nil {
		return r.o.Now()
	}
	return time.Now()
}

// step records a step's status in the journal (atomically) and calls the hooks.
func (r *runner) step(name, status, detail string) error {
	s := Step{Time: r.now().UTC(), Name: name, Status: status, Detail: detail}
	r.j.Steps = append(r.j.Steps, s)
	if err := r.o.Journals.Save(r.j); err != nil {
		return fmt.Errorf("promotion journal: %w", err)
	}
	if r.o.OnStep != nil {
		r.o.OnStep(r.j, s)
	}
	if r.o.Hook != nil {
		r.o.Hook(name, status)
	}
	return nil
}

// Run promotes o.Candidate over o.Live, which must run now. It returns the
// journal; the error is ErrRejected (wrapped, with the measured reason) when
// the live profile was kept.
func Run(ctx context.Context, d *deploy.Deployer, o Options) (*Journal, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	j := &Journal{ID: now().UTC().Format("20060102T150405Z") + "-" + o.Candidate, Candidate: o.Candidate, Live: o.Live, Started: now().UTC(), Running: o.Live}
	release, err := o.Journals.Hold(j.ID)
	if err != nil {
		return j, err
	}
	defer release()
	r := &runner{d: d, o: o, j: j}
	if err := r.step("start", "done", fmt.Sprintf("promote %s over %s", o.Candidate, o.Live)); err != nil {
		return j, err
	}
	if o.Guard != nil {
		if err := o.Guard(j.ID); err != nil {
			j.Outcome, j.Reason = Failed, "starting the recovery guard: "+err.Error()+": nothing was changed"
			_ = r.step("guard", "failed", err.Error())
			return j, errors.New(j.Reason)
		}
		_ = r.step("guard", "done", "a process finishes this promotion if vllmctl dies")
	}
	st, err := d.Status(ctx, []string{o.Live}, nil, 0)
	if err != nil || len(st) == 0 || st[0].State != "running" {
		state := "not deployed"
		if len(st) > 0 {
			state = st[0].State
		}
		j.Running = "" // the live profile does not run, and nothing was started
		j.Outcome, j.Reason = Failed, fmt.Sprintf("%s is %s: promote replaces a running profile (vllmctl up %s first)", o.Live, state, o.Live)
		_ = r.step("check", "failed", j.Reason)
		return j, errors.New(j.Reason)
	}
	// 1. Baseline: the live profile as it runs now.
	_ = r.step("bench-live", "started", "")
	live, err := r.measure(ctx, o.Live)
	if err != nil {
		j.Outcome, j.Reason = Failed, "measuring "+o.Live+": "+err.Error()
		_ = r.step("bench-live", "failed", err.Error())
		return j, errors.New(j.Reason)
	}
	j.LiveBench = live.ID
	if err := r.step("bench-live", "done", benchLine(live)); err != nil {
		return j, err
	}
	// 2. The candidate in the live profile's place.
	j.Running = ""
	if err := r.step("deploy-candidate", "started", "stopping "+o.Live+", starting "+o.Candidate); err != nil {
		return j, err
	}
	up := o.Up
	up.Replace = true
	up.Trigger = "promote " + j.ID + ": candidate over " + o.Live
	res, err := d.Up(ctx, o.Candidate, up)
	if err != nil {
		replaced := false
		for _, a := range res.Replaced {
			replaced = replaced || a.Profile == o.Live
		}
		switch {
		case errors.Is(err, deploy.ErrClash) && !replaced:
			j.Running = o.Live
			j.Outcome, j.Reason = Failed, fmt.Sprintf("%v: %s does not replace %s (give them one container_name or x-vllmctl.group, or list each other in x-vllmctl.alternatives)", ErrNotAlternatives, o.Candidate, o.Live)
			_ = r.step("deploy-candidate", "failed", j.Reason)
			return j, fmt.Errorf("%w: %v", ErrNotAlternatives, err)
		case len(res.Restored) > 0 && res.Restored[len(res.Restored)-1].Outcome == state.Ready:
			j.Running = o.Live // deploy brought the live profile back
		}
		return r.reject(ctx, "did not become ready: "+firstLine(err.Error()), false)
	}
	j.Running = o.Candidate
	if err := r.step("deploy-candidate", "done", fmt.Sprintf("%s ready (deploy %s)", o.Candidate, res.Record.ID)); err != nil {
		return j, err
	}
	// 3. Smoke: one answer.
	_ = r.step("smoke", "started", "")
	t, err := r.target(o.Candidate)
	if err == nil {
		smoke := bench.RunProbes(ctx, t, "smoke", []bench.Probe{{ID: "smoke", Prompt: "Say hello.", MaxTokens: 16, ExpectRegex: "."}})
		if smoke.Passed != 1 {
			err = errors.New(smoke.Outcomes[0].Reason)
		}
	}
	if err != nil {
		_ = r.step("smoke", "failed", err.Error())
		return r.reject(ctx, "smoke request failed: "+err.Error(), true)
	}
	_ = r.step("smoke", "done", "answered")
	// 4. Bench and probes, judged by the gate.
	_ = r.step("bench-candidate", "started", "")
	cand, err := r.measure(ctx, o.Candidate)
	if err != nil {
		_ = r.step("bench-candidate", "failed", err.Error())
		return r.reject(ctx, "measuring the candidate failed: "+err.Error(), true)
	}
	j.CandidateBench = cand.ID
	_ = r.step("bench-candidate", "done", benchLine(cand))
	reasons, unjudged := judge(live, cand, o.Gate)
	if len(reasons) > 0 {
		_ = r.step("gate", "failed", strings.Join(reasons, "; "))
		return r.reject(ctx, strings.Join(reasons, "; "), true)
	}
	passed := "no gated metric worse than " + o.Live
	if len(unjudged) > 0 {
		passed += "; not judged, too few requests for a percentile (raise the gate's duration): " + strings.Join(unjudged, ", ")
	}
	_ = r.step("gate", "done", passed)
	// 5. Keep.
	j.Decision, j.Reason = Keep, "no gated metric worse than "+o.Live+" ("+j.LiveBench+" against "+j.CandidateBench+")"
	if err := r.step("decide", "done", "keep "+o.Candidate); err != nil {
		return j, err
	}
	return j, r.finish()
}

// reject decides Rollback; candidateRuns says whether the candidate is up
// (so the live profile must be deployed again).
func (r *runner) reject(ctx context.Context, reason string, candidateRuns bool) (*Journal, error) {
	j := r.j
	j.Decision, j.Reason = Rollback, reason
	_ = r.step("decide", "done", "roll back to "+j.Live+": "+reason)
	if candidateRuns || j.Running != j.Live {
		if err := r.rollback(ctx); err != nil {
			return j, err
		}
	}
	if err := r.finish(); err != nil {
		return j, err
	}
	return j, fmt.Errorf("%w: %s", ErrRejected, reason)
}

// rollback deploys the live profile in the candidate's place.
func (r *runner) rollback(ctx context.Context) error {
	j := r.j
	j.Running = ""
	_ = r.step("rollback", "started", "stopping "+j.Candidate+", starting "+j.Live)
	up := r.o.Up
	up.Replace, up.Force = true, true // the candidate may have no record to bring back; the live profile must run
	up.Trigger = "promote " + j.ID + ": roll back (" + truncate(j.Reason, 120) + ")"
	res, err := r.d.Up(ctx, j.Live, up)
	if err != nil {
		if len(res.Restored) > 0 && res.Restored[len(res.Restored)-1].Outcome == state.Ready {
			j.Running = j.Candidate
		}
		j.Outcome = Failed
		j.Reason += "; rolling back to " + j.Live + " failed: " + firstLine(err.Error())
		_ = r.step("rollback", "failed", j.Reason)
		return fmt.Errorf("promote %s: %s", j.ID, j.Reason)
	}
	j.Running = j.Live
	return r.step("rollback", "done", fmt.Sprintf("%s ready again (deploy %s)", j.Live, res.Record.ID))
}

// finish archives the losing profile's files and sets the outcome.
func (r *runner) finish() error {
	j := r.j
	loser, reason := j.Candidate, "rejected: "+j.Reason
	if j.Decision == Keep {
		loser, reason = j.Live, "superseded by "+j.Candidate
	}
	_ = r.step("archive", "started", loser)
	var reqs []archive.Request
	if pr, err := r.d.P.Profile(loser); err == nil && pr.File != "" {
		reqs = append(reqs, archive.Request{Path: pr.File, Profile: loser})
	}
	if len(reqs) > 0 {
		if _, err := r.o.Archive.Recover(); err != nil {
			return err
		}
		if _, err := r.o.Archive.Move(reqs, reason, "promote "+j.ID, r.now(), false); err != nil && !alreadyGone(err) {
			_ = r.step("archive", "failed", err.Error())
			return fmt.Errorf("promote %s: archiving %s: %w", j.ID, loser, err)
		}
	}
	_ = r.step("archive", "done", fmt.Sprintf("%s archived: %s", loser, reason))
	if j.Outcome == "" {
		switch {
		case r.recovering:
			j.Outcome = Recovered
		case j.Decision == Rollback:
			j.Outcome = RolledBack
		default:
			j.Outcome = Kept
		}
	}
	return r.step("done", "done", string(j.Outcome)+"; "+j.Running+" runs")
}

// alreadyGone: a recovery archives what an interrupted run already moved.
func alreadyGone(err error) bool {
	return errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "no such file")
}

// target is a profile's engine on its published port.
func (r *runner) target(profile string) (bench.Target, error) {
	eng, err := bench.Engine(r.d.P, profile)
	if err != nil {
		return bench.Target{}, err
	}
	t, _, err := bench.PortTarget(eng, 0)
	return t, err
}

// measure benchmarks a running profile per the gate and stores the result.
func (r *runner) measure(ctx context.Context, profile string) (*bench.Result, error) {
	t, err := r.target(profile)
	if err != nil {
		return nil, err
	}
	bo := bench.DefaultOptions()
	bo.Concurrency, bo.Duration = r.o.Gate.Concurrency, r.o.Gate.Duration
	res := &bench.Result{ID: bench.NewID(r.now(), profile), Profile: profile, Time: r.now().UTC(), Model: t.Model, URL: t.BaseURL,
		Via:    "port " + strings.TrimPrefix(t.BaseURL, "http://127.0.0.1:"),
		Config: bench.Config{Concurrency: bo.Concurrency, Duration: bo.Duration, Prompt: bo.Prompt.String(), Output: bo.Output.String(), IgnoreEOS: bo.IgnoreEOS, Objective: bo.Objective, Seed: bo.Seed}}
	if r.o.Describe != nil {
		r.o.Describe(res)
	}
	if res.Levels, err = bench.Run(ctx, t, bo); err != nil {
		return nil, err
	}
	if len(r.o.Probes) > 0 {
		res.Probes = bench.RunProbes(ctx, t, r.o.ProbeFile, r.o.Probes)
	}
	if _, err := r.o.Bench.Save(res); err != nil {
		return nil, err
	}
	return res, nil
}

// Judge returns why cand fails the gate against live, nothing when it passes.
func Judge(live, cand *bench.Result, g Gate) []string {
	out, _ := judge(live, cand, g)
	return out
}

// judge returns why cand fails the gate, and the gated metrics that got no
// verdict (a p99 of too few requests), which do not fail it.
func judge(live, cand *bench.Result, g Gate) (out, unjudged []string) {
	co := bench.DefaultCompareOptions()
	if g.MinEffect > 0 {
		co.MinEffect = g.MinEffect
	}
	c := bench.Compare(live, cand, co)
	for _, m := range c.Metrics {
		if !slices.Contains(g.Metrics, m.Metric) {
			continue
		}
		switch m.Verdict {
		case bench.Worse:
			out = append(out, fmt.Sprintf("%s at concurrency %d worse: %.2f → %.2f %s (%+.1f%%, 95%% CI [%+.1f%%, %+.1f%%])",
				m.Metric, m.Concurrency, m.A, m.B, m.Unit, 100*m.Change, 100*m.CI.Lo, 100*m.CI.Hi))
		case bench.TooFewRequests:
			unjudged = append(unjudged, fmt.Sprintf("%s at concurrency %d", m.Metric, m.Concurrency))
		}
	}
	for _, l := range cand.Levels {
		if l.Requests > 0 && l.Errors == l.Requests {
			out = append(out, fmt.Sprintf("every request failed at concurrency %d", l.Concurrency))
		}
	}
	if c.Probes != nil {
		if c.Probes.Verdict == bench.Worse {
			out = append(out, fmt.Sprintf("probes worse: %.0f %% → %.0f %% passed (McNemar p = %.4f)", 100*c.Probes.A, 100*c.Probes.B, c.Probes.McNemar.P))
		}
	}
	if cand.Probes != nil && cand.Probes.PassRate < g.MinProbePassRate {
		out = append(out, fmt.Sprintf("probe pass rate %.0f %% below the gate's %.0f %%", 100*cand.Probes.PassRate, 100*g.MinProbePassRate))
	}
	return out, unjudged
}

func benchLine(r *bench.Result) string {
	var parts []string
	for _, l := range r.Levels {
		parts = append(parts, fmt.Sprintf("c=%d %.1f tok/s, E2E p50 %.0f ms, %d errors", l.Concurrency, l.OutputTokS, l.E2E.P50*1000, l.Errors))
	}
	if r.Probes != nil {
		parts = append(parts, fmt.Sprintf("probes %d/%d", r.Probes.Passed, r.Probes.Total))
	}
	return r.ID + ": " + strings.Join(parts, "; ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

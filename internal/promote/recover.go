package promote

import (
	"context"
	"errors"
	"fmt"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Recover finishes every promotion a killed vllmctl left unfinished, so
// that the live profile or the candidate runs and the journal says which:
//
//   - the candidate was kept (decided) and runs: its archive step is completed;
//   - no decision was made, or the decision was to roll back: the live
//     profile is deployed again unless it already runs outside a swap (this
//     covers a kill between stopping the live profile and starting the
//     candidate, when neither runs, and one while the live engine stops,
//     when it still looks up), and the candidate's files are archived when
//     it was rejected.
//
// Every unfinished journal ends with outcome Recovered (or Failed, with the
// reason). A promotion whose vllmctl still runs (it holds the journal's lock,
// Journals.Hold) is in progress, not interrupted, and is left alone.
func Recover(ctx context.Context, d *deploy.Deployer, o Options) ([]*Journal, error) {
	all, err := o.Journals.List()
	if err != nil {
		return nil, err
	}
	var done []*Journal
	for _, j := range all {
		if j.Outcome != "" {
			continue
		}
		release, err := o.Journals.Hold(j.ID)
		if errors.Is(err, state.ErrLocked) {
			continue // in progress
		}
		if err != nil {
			return done, err
		}
		r := &runner{d: d, o: o, j: j}
		err = r.recover(ctx)
		release()
		done = append(done, j)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Guard is the recovery guard of promotion id, run in a process of its own
// (Options.Guard starts it): it waits for the promotion's lock, which the
// promoting vllmctl holds until it ends or dies, and then finishes the
// promotion as Recover does if it has no outcome. So a SIGKILL between
// stopping the live profile and starting the candidate leaves neither
// running only until the guard has deployed the live profile again. It
// returns the journal; recovered is false when the promotion had ended.
func Guard(ctx context.Context, d *deploy.Deployer, o Options, id string) (j *Journal, recovered bool, err error) {
	release, err := o.Journals.HoldWait(id)
	if err != nil {
		return nil, false, err
	}
	defer release()
	if j, err = o.Journals.Load(id); err != nil || j.Outcome != "" {
		return j, false, err
	}
	r := &runner{d: d, o: o, j: j}
	return j, true, r.recover(ctx)
}

func (r *runner) running(ctx context.Context) (live, cand bool, err error) {
	st, err := r.d.Status(ctx, []string{r.j.Live, r.j.Candidate}, nil, 0)
	if err != nil {
		return false, false, err
	}
	for _, s := range st {
		up := s.State == "running"
		switch s.Profile {
		case r.j.Live:
			live = up
		case r.j.Candidate:
			cand = up
		}
	}
	return live, cand, nil
}

func (r *runner) recover(ctx context.Context) error {
	r.recovering = true
	j := r.j
	last := "start"
	if n := len(j.Steps); n > 0 {
		last = j.Steps[n-1].Name + " " + j.Steps[n-1].Status
	}
	live, cand, err := r.running(ctx)
	if err != nil {
		return fmt.Errorf("recover promote %s: %w", j.ID, err)
	}
	what := map[[2]bool]string{{true, false}: j.Live + " runs", {false, true}: j.Candidate + " runs", {false, false}: "neither runs", {true, true}: "both run"}[[2]bool{live, cand}]
	_ = r.step("recover", "started", fmt.Sprintf("interrupted after %q; %s", last, what))
	j.Outcome = ""
	switch {
	case j.Decision == Keep && cand:
		j.Running = j.Candidate
	case live && !cand && j.Running != "":
		// A kill during a swap (Running "") may have signalled the live
		// engine, which still looks up while it stops: that case takes the
		// default branch and deploys it again.
		j.Running = j.Live
		if j.Decision == "" {
			j.Decision, j.Reason = Rollback, "interrupted after "+last+": not promoted"
		}
	default:
		if j.Decision == "" {
			j.Decision, j.Reason = Rollback, "interrupted after "+last+": not promoted"
		}
		if err := r.rollback(ctx); err != nil {
			return err
		}
	}
	if err := r.finish(); err != nil {
		return err
	}
	return r.step("recover", "done", fmt.Sprintf("%s: %s runs", j.Outcome, j.Running))
}

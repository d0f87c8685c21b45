package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Replay runs a profile's last recorded deploy again, where and as it was
// made: on the recorded runtime and Compose CLI, with the recorded resolved
// compose file (docker) or the recorded command (process runtime, the
// simulator binary included), and follows it until ready. The files as they
// are now are not read again: the watchdog restarts what was deployed. The
// new deploy is recorded with ReplayOf and o.Trigger.
//
// Errors: ErrNoRecord when the history holds no deploy of the profile, or its
// last deploy was replaced by an alternative; state.ErrCorrupt, naming the
// file, when the history or the stored command is damaged; a missing
// resolved file or stored command is named with the fix (vllmctl up).
func (d *Deployer) Replay(ctx context.Context, profile string, o UpOptions) (UpResult, error) {
	rec, ok, err := d.Store.Latest(profile)
	if err != nil {
		return UpResult{Profile: profile}, err
	}
	if !ok {
		return UpResult{Profile: profile}, fmt.Errorf("%w: no deploy of %s is recorded in %s: deploy it with 'vllmctl up %s'", ErrNoRecord, profile, d.Store.HistoryPath(), profile)
	}
	if rec.Outcome == state.Replaced {
		return UpResult{Profile: profile}, fmt.Errorf("%w: %s was replaced by %s (%s): deploy it again with 'vllmctl up %s --replace'", ErrNoRecord, profile, rec.ReplacedBy, d.Store.HistoryPath(), profile)
	}
	be := d.Backend
	if d.Runtimes != nil {
		if be, err = d.Runtimes.For(ctx, rec.Where()); err != nil {
			return UpResult{Profile: profile}, fmt.Errorf("replay deploy %s of %s: %w", rec.ID, profile, err)
		}
	}
	unlock, err := d.Store.Lock()
	if err != nil {
		return UpResult{Profile: profile}, err
	}
	defer unlock()
	return d.replay(ctx, be, rec, o, "")
}

// replay runs rec again on be (the lock is held). rollbackOf names the
// failed deploy this replay undoes, "" for a restart.
func (d *Deployer) replay(ctx context.Context, be runtime.Backend, rec state.Record, o UpOptions, rollbackOf string) (UpResult, error) {
	res := UpResult{Profile: rec.Profile}
	pr, err := d.P.Profile(rec.Profile)
	if err != nil {
		return res, err
	}
	engines := pr.Engines()
	if len(engines) == 0 {
		return res, fmt.Errorf("%w: profile %q has no vLLM engine", ErrConfig, rec.Profile)
	}
	eng := engines[0]
	where := rec.Where()
	if where.Kind == "" {
		where = WhereOf(be)
	}
	spec := d.baseSpec(rec.Profile)
	spec.Hash, spec.DeployID = rec.Hash, rec.ID
	if where.Kind == state.KindProcess {
		if spec.Services, err = d.loadProcessSpec(rec.SpecPath()); err != nil {
			return res, fmt.Errorf("replay deploy %s of %s: %w", rec.ID, rec.Profile, err)
		}
	} else if spec.File, err = d.specFile(rec); err != nil {
		return res, fmt.Errorf("replay deploy %s of %s: %w", rec.ID, rec.Profile, err)
	}
	res.File = spec.File
	res.Commands = be.Commands(spec)
	now := timeNow()
	nr := state.Record{ID: state.NewID(now, rec.Hash), Profile: rec.Profile, Time: now.UTC(), Hash: rec.Hash, File: rec.File,
		Runtime: be.Name(), Simulated: rec.Simulated, Outcome: state.Deploying, Sources: rec.Sources, Trigger: o.Trigger,
		Kind: where.Kind, Compose: where.Compose, SimBinary: rec.SimBinary, ReplayOf: rec.ID, RollbackOf: rollbackOf}
	if where.Kind == state.KindProcess {
		nr.Spec = rec.SpecPath()
	}
	if err := d.Store.Put(nr); err != nil {
		return res, err
	}
	d.emit(o, rec.Profile, "replay", fmt.Sprintf("deploying %s again as recorded (deploy %s, config %s, %s%s)", rec.Profile, rec.ID, rec.Hash, where, simNote(rec)))
	mres, err := d.applyAndWatch(ctx, be, spec, eng, o)
	res.Monitor = mres
	nr.Outcome = state.Failed
	if mres != nil {
		nr.Outcome = state.Outcome(mres.Outcome)
		nr.ReadySecs = mres.Elapsed.Seconds()
		nr.Diagnosis = o.Redact.String(strings.TrimSpace(mres.Diagnosis + " " + mres.RootCause))
	}
	if err != nil && nr.Diagnosis == "" {
		nr.Diagnosis = o.Redact.String(err.Error())
	}
	if err == nil && (mres == nil || mres.Outcome != monitor.Ready) {
		err = fmt.Errorf("%w: %s did not become ready", ErrEngine, rec.Profile)
	}
	res.Record = nr
	if perr := d.Store.Put(nr); perr != nil && err == nil {
		err = perr
	}
	return res, err
}

func simNote(rec state.Record) string {
	switch {
	case rec.SimBinary != "":
		return ", simulated by " + rec.SimBinary
	case rec.Simulated:
		return ", simulated"
	}
	return ""
}

package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
)

// ErrNoRecord: a verb needs the record of a profile's last deploy, and the
// history holds none.
var ErrNoRecord = errors.New("no deploy recorded")

// Opener opens the backend of a runtime kind and Compose CLI.
type Opener func(ctx context.Context, w state.Where) (runtime.Backend, error)

// OpenRuntime is the usual Opener: the process runtime with the state folder,
// or the Docker Engine with the recorded Compose CLI.
func OpenRuntime(stateDir string) Opener {
	return func(ctx context.Context, w state.Where) (runtime.Backend, error) {
		switch w.Kind {
		case state.KindProcess:
			return &runtime.Process{StateDir: stateDir}, nil
		case state.KindDocker:
			return runtime.NewDocker(ctx, string(w.Compose))
		}
		return nil, fmt.Errorf("unknown runtime %q", w.Kind)
	}
}

// Runtimes hands out backends: Default for new deploys and for profiles
// without a record, and the one each profile's last recorded deploy ran on
// (its runtime and Compose CLI), opened once and kept, so a process started
// by this vllmctl is followed by the same backend that started it.
type Runtimes struct {
	// Default deploys new profiles (up's --runtime, auto by default).
	Default runtime.Backend
	// Pinned: the runtime was given (--runtime): every profile is looked for
	// on Default alone, whatever its record says.
	Pinned bool
	// Open opens a recorded runtime. Default: OpenRuntime with no state folder
	// (set it: NewRuntimes does).
	Open Opener

	mu   sync.Mutex
	open map[state.Where]runtime.Backend
	errs map[state.Where]error
}

// NewRuntimes returns Runtimes over def, opening recorded runtimes with
// OpenRuntime(stateDir).
func NewRuntimes(def runtime.Backend, pinned bool, stateDir string) *Runtimes {
	return &Runtimes{Default: def, Pinned: pinned, Open: OpenRuntime(stateDir)}
}

// WhereOf tells the runtime kind and Compose CLI of a backend from its name.
func WhereOf(b runtime.Backend) state.Where {
	if b == nil {
		return state.Where{}
	}
	return state.ParseRuntime(b.Name())
}

// same reports whether a backend at have serves a deploy recorded at want.
func same(have, want state.Where) bool {
	return have.Kind == want.Kind && (have.Compose == want.Compose || have.Compose == "" || want.Compose == "")
}

// For returns the backend of a recorded runtime.
func (r *Runtimes) For(ctx context.Context, w state.Where) (runtime.Backend, error) {
	if r.Pinned || w.Kind == "" || (r.Default != nil && same(WhereOf(r.Default), w)) {
		if r.Default == nil {
			return nil, errors.New("no runtime")
		}
		return r.Default, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.open[w]; ok {
		return b, nil
	}
	if err, ok := r.errs[w]; ok {
		return nil, err
	}
	open := r.Open
	if open == nil {
		open = OpenRuntime("")
	}
	b, err := open(ctx, w)
	if err != nil {
		err = fmt.Errorf("the %s runtime it was deployed on is not available: %w", w, err)
		if r.errs == nil {
			r.errs = map[state.Where]error{}
		}
		r.errs[w] = err
		return nil, err
	}
	if r.open == nil {
		r.open = map[state.Where]runtime.Backend{}
	}
	r.open[w] = b
	return b, nil
}

// ForInstance returns the backend that lists an instance (its Runtime is
// "docker" or "process"): for its logs and exits.
func (r *Runtimes) ForInstance(ctx context.Context, inst runtime.Instance) (runtime.Backend, error) {
	kind := state.RuntimeKind(inst.Runtime)
	if r.Default != nil && WhereOf(r.Default).Kind == kind {
		return r.Default, nil
	}
	r.mu.Lock()
	for w, b := range r.open {
		if w.Kind == kind {
			r.mu.Unlock()
			return b, nil
		}
	}
	r.mu.Unlock()
	return r.For(ctx, state.Where{Kind: kind})
}

// NewLocated builds a Deployer whose verbs on deployed profiles (down, status,
// logs, replay, the replacement of alternatives) find each profile where its
// last recorded deploy runs; up deploys with rt.Default.
func NewLocated(p *project.Project, rt *Runtimes) *Deployer {
	d := New(p, rt.Default)
	d.Runtimes = rt
	return d
}

// located is where a profile's deploy is: its backend and its last record.
type located struct {
	be     runtime.Backend
	rec    state.Record
	hasRec bool
}

// locate finds the backend of a profile's last deploy: the recorded runtime,
// or the Deployer's backend when the profile has no record or Runtimes is
// nil. A damaged history is an error naming the file.
func (d *Deployer) locate(ctx context.Context, profile string) (located, error) {
	rec, ok, err := d.Store.Latest(profile)
	if err != nil {
		return located{}, err
	}
	l := located{be: d.Backend, rec: rec, hasRec: ok}
	if d.Runtimes == nil || !ok {
		return l, nil
	}
	be, err := d.Runtimes.For(ctx, rec.Where())
	if err != nil {
		return l, fmt.Errorf("profile %s (last deploy %s, %s): %w", profile, rec.ID, d.Store.HistoryPath(), err)
	}
	l.be = be
	return l, nil
}

// Instances lists the engines of the project wherever they run: each profile
// on the runtime of its last recorded deploy, profiles without a record (and
// engines of profiles no longer in the files) on the Deployer's backend.
// Profiles whose runtime cannot be reached are returned in unreachable with
// the reason; a damaged history is an error. When the Deployer's own backend
// cannot be reached, the engines of the other runtimes are still returned,
// with that error.
func (d *Deployer) Instances(ctx context.Context) (insts []runtime.Instance, unreachable map[string]error, err error) {
	if d.Runtimes == nil || d.Runtimes.Pinned {
		insts, err := d.Backend.List(ctx, d.P.Config.ProjectName, "")
		return insts, nil, err
	}
	hist, err := d.Store.History("")
	if err != nil {
		return nil, nil, err
	}
	latest := map[string]state.Record{}
	for _, r := range hist {
		latest[r.Profile] = r
	}
	owner := map[string]runtime.Backend{} // recorded profile → its backend
	backends := []runtime.Backend{d.Backend}
	unreachable = map[string]error{}
	for _, n := range slices.Sorted(maps.Keys(latest)) {
		rec := latest[n]
		be, err := d.Runtimes.For(ctx, rec.Where())
		if err != nil {
			unreachable[n] = err
			continue
		}
		owner[n] = be
		found := false
		for _, b := range backends {
			found = found || b == be
		}
		if !found {
			backends = append(backends, be)
		}
	}
	var defaultErr error
	for _, be := range backends {
		list, err := be.List(ctx, d.P.Config.ProjectName, "")
		if err != nil {
			for n, b := range owner {
				if b == be {
					unreachable[n] = err
				}
			}
			if be == d.Backend {
				defaultErr = err // the other runtimes' engines are still listed
			}
			continue
		}
		for _, in := range list {
			b, recorded := owner[in.Profile]
			_, lost := unreachable[in.Profile]
			if (recorded && b == be) || (!recorded && !lost && be == d.Backend) {
				insts = append(insts, in)
			}
		}
	}
	sort.SliceStable(insts, func(i, j int) bool { return insts[i].Profile < insts[j].Profile })
	return insts, unreachable, defaultErr
}

// specFile returns a record's resolved compose file, or an error naming it
// when it is gone.
func (d *Deployer) specFile(rec state.Record) (string, error) {
	path := d.Store.Abs(rec.File)
	if rec.File == "" {
		return "", fmt.Errorf("%w: deploy %s of %s in %s names no resolved file: deploy it again with 'vllmctl up %s'", ErrNoRecord, rec.ID, rec.Profile, d.Store.HistoryPath(), rec.Profile)
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: the resolved compose file of deploy %s of %s is missing (%v): deploy it again with 'vllmctl up %s'", path, rec.ID, rec.Profile, err, rec.Profile)
	}
	return path, nil
}

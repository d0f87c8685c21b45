package deploy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/check"
	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/plan"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/resolve"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Sentinels for the CLI's exit codes.
var (
	ErrConfig  = errors.New("config error")    // check found errors: nothing was deployed
	ErrEngine  = errors.New("engine failure")  // the engine failed or exited
	ErrTimeout = errors.New("startup timeout") // no progress for the stall timeout
)

// Event is a progress event of a deploy (monitor events plus deploy steps).
type Event = monitor.Event

// UpOptions configure Up.
type UpOptions struct {
	Version           string        // vllmctl version, for labels
	Simulate          bool          // run on vllm-sim
	SimBinary         string        // process runtime: the vllm-sim binary. Default: next to vllmctl, else PATH
	Inventory         []gpu.GPU     // GPUs for the plan and the simulator
	InventorySource   string        // where they came from (flags, nvidia-smi, vllmctl.yaml), for the plan's messages
	DryRun            bool          // print what would run, change nothing
	RollbackOnFailure bool          // redeploy the previous good resolved file on failure
	Completion        bool          // one tiny completion before ready
	StallLoading      time.Duration // see monitor.Options
	StallOther        time.Duration
	SkipPlan          bool        // deploy even when the plan predicts a failure
	Trigger           string      // who asked: the watchdog, an on-demand start; kept in the history
	OnEvent           func(Event) // progress
	Redact            *redact.Redactor
	// Replace stops the running alternatives of the profile (shared
	// container_name, x-vllmctl.group, x-vllmctl.alternatives) without asking.
	Replace bool
	// Confirm asks the operator a yes/no question (replacing alternatives).
	// Default: nil, nobody to ask: up refuses with ErrAlternativeRunning.
	Confirm func(question string) (bool, error)
	// Force deploys past clashes with what runs now (ErrClash), and replaces
	// an alternative that has no record to bring it back from.
	Force bool
	// PortBusy tells whether a host port is taken. Default: PortBusy.
	PortBusy func(hostIP string, port int) bool
}

// UpResult is what Up did.
type UpResult struct {
	Profile  string       `json:"profile"`
	Record   state.Record `json:"deploy"`
	Commands [][]string   `json:"commands,omitempty"`
	File     string       `json:"resolved_file,omitempty"`
	// Resolved is, with DryRun, the resolved compose file File would hold
	// (secrets as references to their variables); File is not written.
	Resolved   string          `json:"resolved,omitempty"`
	Monitor    *monitor.Result `json:"monitor,omitempty"`
	Planned    *plan.Result    `json:"planned,omitempty"`
	RolledBack *state.Record   `json:"rolled_back_to,omitempty"`
	// Clashes are the conflicts with what runs now (deployed past with Force).
	Clashes []project.Diagnostic `json:"clashes,omitempty"`
	// Replaced are the alternatives this deploy stopped (or, with DryRun, would stop).
	Replaced []Alternative `json:"replaced,omitempty"`
	// Restored are the deploys of replaced alternatives run again because
	// this one did not become ready.
	Restored []state.Record `json:"restored,omitempty"`
}

// Deployer runs verbs against one project and backend.
type Deployer struct {
	P       *project.Project
	Backend runtime.Backend // what Up deploys with
	Store   state.Store
	// Runtimes finds where each profile's last recorded deploy runs: Down,
	// Status, Logs, Replay and the replacement of alternatives look there.
	// Default: nil, every profile on Backend (NewLocated sets it).
	Runtimes *Runtimes
}

// New builds a Deployer with the project's state folder.
func New(p *project.Project, b runtime.Backend) *Deployer {
	dir := p.Config.StateDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.Root, dir)
	}
	return &Deployer{P: p, Backend: b, Store: state.Store{Dir: dir}}
}

// timeNow is the clock of records.
var timeNow = time.Now

func (d *Deployer) emit(o UpOptions, profile, kind, msg string) {
	if o.OnEvent != nil {
		o.OnEvent(Event{Time: time.Now(), Profile: profile, Kind: kind, Message: o.Redact.String(msg)})
	}
}

// baseSpec is the runtime spec of a profile without a deploy.
func (d *Deployer) baseSpec(profile string) runtime.Spec {
	spec := runtime.Spec{Project: d.P.Config.ProjectName, Profile: profile, ComposeName: resolve.ComposeName(d.P, profile), Root: d.P.Root, StateDir: d.Store.Dir}
	if d.P.Env != nil {
		spec.EnvFile = filepath.Join(d.P.Root, filepath.FromSlash(d.P.Config.EnvFile))
	}
	return spec
}

// Up checks, resolves, applies and monitors one profile until it answers.
// Before anything changes it compares the profile with what runs now (ports,
// GPU memory shares, container names: ErrClash unless Force) and finds its
// running alternatives, which it replaces when Replace or Confirm allows it
// (else ErrAlternativeRunning). An alternative it stopped is brought back,
// from its recorded deploy, when this one does not become ready.
func (d *Deployer) Up(ctx context.Context, profile string, o UpOptions) (UpResult, error) {
	res := UpResult{Profile: profile}
	pr, err := d.P.Profile(profile)
	if err != nil {
		return res, err
	}
	pp := plan.PlanProject(d.P, plan.ProjectInput{GPUs: o.Inventory, GPUSource: o.InventorySource, Profiles: []string{profile}})
	var extra []project.Diagnostic
	if !o.SkipPlan && len(o.Inventory) > 0 {
		extra = plan.Diagnostics(d.P, pp)
	}
	diags := check.Run(d.P, check.Options{Profiles: []string{profile}, Extra: extra})
	if n := project.CountErrors(diags); n > 0 {
		var lines []string
		for _, dg := range diags {
			if dg.Severity == project.Error {
				lines = append(lines, o.Redact.String(dg.String()))
			}
		}
		return res, fmt.Errorf("%w: %d error(s) in profile %q; nothing was deployed (fix them, or pass --skip-plan to deploy past a plan verdict):\n%s", ErrConfig, n, profile, strings.Join(lines, "\n"))
	}
	engines := pr.Engines()
	if len(engines) == 0 {
		return res, fmt.Errorf("%w: profile %q has no vLLM engine", ErrConfig, profile)
	}
	// The engine deployed is the first that compose starts: one behind a
	// compose profile that is not active (COMPOSE_PROFILES) is not in the
	// resolved file.
	if which, choose, ok := pr.GatedEngines(); ok {
		return res, fmt.Errorf("%w: the engines of profile %q run only under compose profiles: %s; compose starts none of them without one, and a deploy would start nothing: set COMPOSE_PROFILES=%s in .env (or the environment), as 'docker compose --profile %s up' does",
			ErrConfig, profile, which, choose, choose)
	}
	eng := engines[slices.IndexFunc(engines, func(e *project.Service) bool { return len(e.Gated) == 0 })]
	for _, e := range pp.Engines {
		if e.Service == eng.Name {
			e := e
			res.Planned = &e.Result
		}
	}
	unlock, err := d.Store.Lock()
	if err != nil {
		return res, err
	}
	defer unlock()
	now := timeNow()
	r0, err := resolve.Resolve(d.P, pr, resolve.ResolveOptions{Version: o.Version, Simulate: o.Simulate, SimGPUs: o.Inventory})
	if err != nil {
		return res, err
	}
	id := state.NewID(now, r0.Hash)
	r, err := resolve.Resolve(d.P, pr, resolve.ResolveOptions{Version: o.Version, DeployID: id, Simulate: o.Simulate, SimGPUs: o.Inventory})
	if err != nil {
		return res, err
	}
	alts, err := d.runningAlternatives(ctx, pr, o)
	if err != nil {
		return res, err
	}
	res.Replaced = alts
	if !o.DryRun {
		clashes, err := d.liveClashes(ctx, pr, alts, o)
		if err != nil {
			return res, err
		}
		if len(clashes) > 0 {
			lines := make([]string, len(clashes))
			for i, dg := range clashes {
				lines[i] = o.Redact.String(dg.String())
			}
			if !o.Force {
				return res, fmt.Errorf("%w: %d clash(es) of profile %q with what runs now; nothing was deployed (fix them, or pass --force to deploy anyway):\n%s", ErrClash, len(clashes), profile, strings.Join(lines, "\n"))
			}
			res.Clashes = clashes
			for _, l := range lines {
				d.emit(o, profile, "clash", "--force: deploying past "+l)
			}
		}
	}
	spec, err := d.spec(pr, eng, r, id, o)
	if err != nil {
		return res, err
	}
	if o.DryRun {
		// The commands name the resolved file this deploy would write.
		spec.File = d.Store.Abs(state.ResolvedPath(profile, id))
		res.File, res.Resolved = spec.File, string(d.Store.ResolvedText(r.YAML))
	}
	res.Commands = d.Backend.Commands(spec)
	if o.DryRun {
		if len(alts) > 0 {
			d.emit(o, profile, "replace", "would replace "+describe(alts))
		}
		return res, nil
	}
	if len(alts) > 0 {
		if err := d.confirmReplace(profile, alts, o); err != nil {
			return res, err
		}
	}
	rel, err := d.Store.SaveResolved(profile, id, r.YAML)
	if err != nil {
		return res, err
	}
	spec.File = d.Store.Abs(rel)
	res.File = spec.File
	where := WhereOf(d.Backend)
	rec := state.Record{ID: id, Profile: profile, Time: now.UTC(), Hash: r.Hash, File: rel, Runtime: d.Backend.Name(), Simulated: o.Simulate, Outcome: state.Deploying, Trigger: o.Trigger,
		Kind: where.Kind, Compose: where.Compose}
	if where.Kind == state.KindProcess {
		rec.Spec = state.Record{ID: id}.SpecPath()
		if o.Simulate && len(spec.Services) > 0 && len(spec.Services[0].Argv) > 0 {
			rec.SimBinary = spec.Services[0].Argv[0]
		}
	}
	for _, s := range pr.Sources {
		sum := sha256.Sum256(s.Data)
		rec.Sources = append(rec.Sources, state.Source{Path: s.Path, SHA256: hex.EncodeToString(sum[:])})
	}
	for _, a := range alts {
		rec.Replaced = append(rec.Replaced, a.Profile)
	}
	if err := d.Store.Put(rec); err != nil {
		return res, err
	}
	var mres *monitor.Result
	stopped, err := d.stopAlternatives(ctx, profile, id, alts, o)
	if err == nil {
		mres, err = d.applyAndWatch(ctx, d.Backend, spec, eng, o)
	}
	res.Monitor = mres
	if mres != nil && mres.Outcome == monitor.Failed && where.Kind != state.KindProcess {
		if rp := eng.Config.Restart; rp != "" && rp != "no" {
			mres.Diagnosis += fmt.Sprintf(" — restart: %s turns this into a crash loop (fix the cause, then vllmctl up again)", rp)
		}
	}
	rec.Outcome = state.Failed
	if mres != nil {
		rec.Outcome = state.Outcome(mres.Outcome)
		rec.ReadySecs = mres.Elapsed.Seconds()
		rec.Diagnosis = o.Redact.String(strings.TrimSpace(mres.Diagnosis + " " + mres.RootCause))
	}
	if err != nil && rec.Diagnosis == "" {
		rec.Diagnosis = o.Redact.String(err.Error())
	}
	res.Record = rec
	if perr := d.Store.Put(rec); perr != nil && err == nil {
		err = perr
	}
	if err != nil && len(stopped) > 0 {
		// The replacement did not become ready: remove it, bring back what it replaced.
		if rerr := d.Backend.Remove(context.WithoutCancel(ctx), spec); rerr != nil {
			d.emit(o, profile, "rollback", fmt.Sprintf("removing %s: %v", profile, rerr))
		}
		for _, a := range stopped {
			res.Restored = append(res.Restored, d.restore(context.WithoutCancel(ctx), profile, id, a, o))
		}
		return res, err
	}
	if err == nil || !o.RollbackOnFailure {
		return res, err
	}
	good, ok := d.Store.LastGood(profile, id)
	if !ok {
		d.emit(o, profile, "rollback", "no previous good deploy of "+profile+" to roll back to")
		return res, err
	}
	d.emit(o, profile, "rollback", fmt.Sprintf("rolling back to deploy %s (config %s)", good.ID, good.Hash))
	back := spec
	back.File, back.Hash, back.DeployID = d.Store.Abs(good.File), good.Hash, good.ID
	if where.Kind == state.KindProcess {
		// The process runtime re-runs the old record's command.
		svcs, lerr := d.loadProcessSpec(good.SpecPath())
		if lerr != nil {
			d.emit(o, profile, "rollback", "cannot roll back: "+lerr.Error())
			_ = d.Store.Put(state.Record{ID: state.NewID(timeNow(), good.Hash), Profile: profile, Time: timeNow().UTC(), Hash: good.Hash,
				File: good.File, Runtime: d.Backend.Name(), Outcome: state.Failed, RollbackOf: id, Kind: where.Kind, ReplayOf: good.ID,
				Diagnosis: "rollback impossible: " + lerr.Error()})
			return res, fmt.Errorf("%w; rolling back to deploy %s is impossible: %v", err, good.ID, lerr)
		}
		back.Services = svcs
	}
	rb, rerr := d.applyAndWatch(ctx, d.Backend, back, eng, o)
	rbRec := state.Record{ID: state.NewID(timeNow(), good.Hash), Profile: profile, Time: timeNow().UTC(), Hash: good.Hash, File: good.File,
		Runtime: d.Backend.Name(), Simulated: good.Simulated, Outcome: state.RolledBack, RollbackOf: id,
		Kind: where.Kind, Compose: where.Compose, SimBinary: good.SimBinary, ReplayOf: good.ID}
	if where.Kind == state.KindProcess {
		rbRec.Spec = good.SpecPath()
	}
	if rerr != nil || rb == nil || rb.Outcome != monitor.Ready {
		rbRec.Outcome = state.Failed
		rbRec.Diagnosis = "rollback did not become ready"
	}
	_ = d.Store.Put(rbRec)
	res.RolledBack = &rbRec
	return res, err
}

// restore brings back an alternative that a failed deploy replaced, from its
// recorded deploy, on its runtime.
func (d *Deployer) restore(ctx context.Context, profile, id string, a Alternative, o UpOptions) state.Record {
	d.emit(o, profile, "rollback", fmt.Sprintf("%s did not become ready: bringing %s back (deploy %s, config %s)", profile, a.Profile, a.loc.rec.ID, a.loc.rec.Hash))
	ro := o
	ro.Trigger = fmt.Sprintf("brought back: %s (deploy %s) did not become ready", profile, id)
	rr, err := d.replay(ctx, a.loc.be, a.loc.rec, ro, id)
	if err != nil {
		if rr.Record.Profile == "" { // it failed before a record was written
			rr.Record = state.Record{Profile: a.Profile, Hash: a.loc.rec.Hash, ReplayOf: a.loc.rec.ID, RollbackOf: id, Outcome: state.Failed}
		}
		if rr.Record.Diagnosis == "" {
			rr.Record.Diagnosis = o.Redact.String(err.Error())
		}
		d.emit(o, profile, "rollback", fmt.Sprintf("%s could not be brought back: %v (vllmctl up %s)", a.Profile, err, a.Profile))
	} else {
		d.emit(o, profile, "rollback", fmt.Sprintf("%s is back: %s", a.Profile, rr.Record.Outcome))
	}
	return rr.Record
}

// spec builds the runtime spec of a deploy.
func (d *Deployer) spec(pr *project.Profile, eng *project.Service, r resolve.Resolved, id string, o UpOptions) (runtime.Spec, error) {
	spec := d.baseSpec(pr.Name)
	spec.Hash, spec.DeployID = r.Hash, id
	if WhereOf(d.Backend).Kind != state.KindProcess {
		return spec, nil
	}
	port := eng.HostPort()
	if port == 0 {
		port = eng.Args.Port
	}
	argv := append([]string(nil), eng.Argv...)
	if o.Simulate {
		bin, err := SimBinary(o.SimBinary)
		if err != nil {
			return spec, err
		}
		argv = append([]string{bin}, argv...)
		argv = append(argv, resolve.SimFlags(eng, o.Inventory)...)
	} else if len(argv) == 0 || !strings.Contains(argv[0], "vllm") && !strings.Contains(strings.Join(argv[:min(3, len(argv))], " "), "vllm") {
		argv = append([]string{"vllm", "serve"}, argv...)
	}
	argv = append(argv, "--host", "127.0.0.1", "--port", fmt.Sprint(port))
	var env []string
	for k, v := range eng.Config.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	spec.Services = []runtime.ProcessSpec{{Service: eng.Name, Argv: argv, Env: env, Port: port}}
	d.saveProcessSpec(id, spec.Services)
	return spec, nil
}

// saveProcessSpec stores a process deploy with secrets as ${KEY} references.
func (d *Deployer) saveProcessSpec(id string, specs []runtime.ProcessSpec) {
	b, _ := json.Marshal(specs)
	var v any
	_ = json.Unmarshal(b, &v)
	b, _ = json.MarshalIndent(resolve.Escape(v, resolve.SecretRefs(d.P)), "", "  ")
	_ = d.Store.SaveProcessSpec(id, b)
}

// loadProcessSpec reads a stored process deploy (rel: relative to the state
// folder) and expands its references; an error names the file and the fix.
func (d *Deployer) loadProcessSpec(rel string) ([]runtime.ProcessSpec, error) {
	path := d.Store.Abs(rel)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: the stored command of this deploy cannot be read (%v): deploy it again with 'vllmctl up'", path, err)
	}
	var specs []runtime.ProcessSpec
	if err := json.Unmarshal(b, &specs); err != nil || len(specs) == 0 || len(specs[0].Argv) == 0 {
		return nil, fmt.Errorf("%s: %w: the stored command of this deploy is damaged (%v): move it away and deploy again with 'vllmctl up'", path, state.ErrCorrupt, err)
	}
	expand := func(s string) string { out, _ := project.Expand(s, d.P.Lookup); return out }
	for i := range specs {
		for j := range specs[i].Argv {
			specs[i].Argv[j] = expand(specs[i].Argv[j])
		}
		for j := range specs[i].Env {
			specs[i].Env[j] = expand(specs[i].Env[j])
		}
	}
	return specs, nil
}

// SimBinary finds vllm-sim: the given path, next to this executable, or on PATH.
func SimBinary(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	name := "vllm-sim"
	if exe, err := os.Executable(); err == nil {
		for _, n := range []string{name, name + ".exe"} {
			p := filepath.Join(filepath.Dir(exe), n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("vllm-sim not found next to vllmctl or on PATH: run 'make build' (or pass --sim-binary)")
}

// applyAndWatch applies a spec, finds the engine and follows it until it answers.
func (d *Deployer) applyAndWatch(ctx context.Context, be runtime.Backend, spec runtime.Spec, eng *project.Service, o UpOptions) (*monitor.Result, error) {
	d.emit(o, spec.Profile, "apply", "applying with "+be.Name())
	if err := be.Apply(ctx, spec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEngine, o.Redact.String(err.Error()))
	}
	var inst runtime.Instance
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := be.List(ctx, spec.Project, spec.Profile)
		if err != nil {
			return nil, err
		}
		for _, in := range list {
			if in.Service == eng.Name || WhereOf(be).Kind == state.KindProcess {
				inst = in
			}
		}
		if inst.ID != "" || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if inst.ID == "" {
		return nil, fmt.Errorf("%w: no container with label %s=%s appeared", ErrEngine, runtime.LabelProfile, spec.Profile)
	}
	d.emit(o, spec.Profile, "container", "started "+inst.Name)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := be.Logs(wctx, inst, true, time.Time{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			select {
			case lines <- o.Redact.String(sc.Text()):
			case <-wctx.Done():
				return
			}
		}
	}()
	exitsRaw := be.Exits(wctx, inst)
	exits := make(chan monitor.Exit, 1)
	go func() {
		for x := range orClosed(wctx, exitsRaw) {
			exits <- monitor.Exit{Code: x.Code, Restart: x.Restart, Restarts: x.Restarts}
		}
	}()
	port := inst.HostPort
	if port == 0 {
		port = eng.HostPort()
	}
	served := ""
	if names := eng.Args.ServedNames(); len(names) > 0 {
		served = names[0]
	}
	prober := &monitor.HTTPProber{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port), APIKey: eng.Args.APIKey}
	mres := monitor.Watch(wctx, lines, exits, prober, monitor.Options{Profile: spec.Profile, ServedName: served, Completion: o.Completion,
		StallLoading: o.StallLoading, StallOther: o.StallOther, OnEvent: func(e monitor.Event) {
			if o.OnEvent != nil {
				e.Message = o.Redact.String(e.Message)
				o.OnEvent(e)
			}
		}})
	for i := range mres.Tail {
		mres.Tail[i] = o.Redact.String(mres.Tail[i])
	}
	switch mres.Outcome {
	case monitor.Ready:
		return &mres, nil
	case monitor.Timeout:
		return &mres, fmt.Errorf("%w: %s", ErrTimeout, mres.Diagnosis)
	case monitor.Canceled:
		return &mres, ctx.Err()
	}
	return &mres, fmt.Errorf("%w: %s", ErrEngine, mres.Diagnosis)
}

func orClosed(ctx context.Context, in <-chan runtime.Exit) <-chan runtime.Exit {
	out := make(chan runtime.Exit)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case x, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- x:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// ReadLines is a helper for logs: it splits a stream into lines.
func ReadLines(r io.Reader, fn func(string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		fn(sc.Text())
	}
	return sc.Err()
}

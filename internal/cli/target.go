package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/cli/progress"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/kube"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/state"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// targetFlags choose where up, down and status act: this machine (the
// runtime flags) or a Kubernetes cluster (kubeconfig and context as kubectl
// reads them).
type targetFlags struct {
	target     string
	kubeconfig string
	context    string
	namespace  string
}

func (f *targetFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.target, "target", "local", "local (this machine: --runtime) or kubernetes (the cluster of --context)")
	c.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig `FILE` with --target kubernetes (default: $KUBECONFIG, else ~/.kube/config)")
	c.Flags().StringVar(&f.context, "context", "", "kubeconfig context with --target kubernetes (default: the current one)")
	c.Flags().StringVarP(&f.namespace, "namespace", "n", "", "namespace with --target kubernetes (default: x-vllmctl.kubernetes.namespace, else the context's)")
}

// kubernetes reports whether the command acts on a cluster; an unknown
// target is a usage error.
func (f targetFlags) kubernetes() (bool, error) {
	switch f.target {
	case "", "local":
		if f.kubeconfig != "" || f.context != "" || f.namespace != "" {
			return false, usageErr("--kubeconfig, --context and --namespace need --target kubernetes")
		}
		return false, nil
	case "kubernetes", "k8s":
		return true, nil
	}
	return false, usageErr("--target %q: use local or kubernetes", f.target)
}

// kubeTarget is a project's profiles built as export kubernetes writes
// them, and the cluster they go to.
type kubeTarget struct {
	p   *project.Project
	res *kube.Result
	cs  kubernetes.Interface
	cfg *rest.Config
	ns  string // where they live
}

// cluster builds the profiles' objects and connects to the cluster.
func (e *env) cluster(f targetFlags, profiles []string) (*kubeTarget, error) {
	p, err := e.load(project.Options{})
	if err != nil {
		return nil, err
	}
	for _, a := range profiles {
		if _, err := p.Profile(a); err != nil {
			return nil, &exitError{code: ExitUsage, err: err}
		}
	}
	res, err := kube.Build(p, profiles, kube.Options{Version: Version, Namespace: f.namespace})
	if err != nil {
		return nil, &exitError{code: ExitConfig, err: err}
	}
	cs, cfg, ctxNS, err := kube.ConnectConfig(f.kubeconfig, f.context)
	if err != nil {
		return nil, err
	}
	ns := res.Namespace
	if ns == "" {
		ns = ctxNS
	}
	return &kubeTarget{p: p, res: res, cs: cs, cfg: cfg, ns: ns}, nil
}

// upKubernetes is up --target kubernetes: server-side apply, then each
// rollout followed to a running pod or a diagnosis with its fix, then the
// engine as on Docker: its container log through the API into the
// startup-phase monitor, ready when /health, /v1/models and a tiny
// completion answer through a port-forward, or the diagnosis, the fix and
// the last log lines.
//
// up's flags that only the Docker and process runtimes have are refused by
// name rather than ignored; --no-completion-probe, --stall-timeout,
// --download-timeout and --progress apply as on Docker.
func upKubernetes(e *env, uf upFlags, profiles []string) error {
	for _, n := range []struct {
		set  bool
		name string
	}{{uf.replace, "--replace"}, {uf.force, "--force"}, {uf.dryRun, "--dry-run"},
		{uf.rt.simulate, "--simulate"}} {
		if n.set {
			return usageErr("%s is not supported with --target kubernetes yet (use 'vllmctl export kubernetes' to see the manifests, or drop the flag)", n.name)
		}
	}
	f := uf.target
	rend, err := progress.New(uf.progress, e.stderr)
	if err != nil {
		return usageErr("--progress: %v", err)
	}
	t, err := e.cluster(f, profiles)
	if err != nil {
		rend.Close()
		return err
	}
	res, cs, ns := t.res, t.cs, t.ns
	red := redactorFor(t.p)
	rollout := func(name, state string) { fmt.Fprintf(e.stderr, "%s: %s\n", name, state) }
	var results []deploy.UpResult
	follow := kube.FollowOptions{Config: t.cfg, Completion: !uf.noComplete, StallOther: uf.stall, StallLoading: uf.stallLoad,
		OnEvent: func(ev monitor.Event) { ev.Message = red.String(ev.Message); rend.Event(ev) },
		OnResult: func(profile string, m monitor.Result) {
			for i := range m.Tail {
				m.Tail[i] = red.String(m.Tail[i])
			}
			results = append(results, deploy.UpResult{Profile: profile, Monitor: &m})
		}}
	store := kubeStore(t, f, red)
	if err := writeKubeTarget(store, f, ns); err != nil {
		fmt.Fprintf(e.stderr, "recording the cluster in %s (serve routes there): %v\n", store.Dir, err)
	}
	var outcomes []kube.Outcome
	uo := kube.UpOptions{Namespace: ns, Rollout: kube.RolloutOptions{Progress: rollout}, Follow: follow,
		RollbackOnFailure: uf.rollback, LastGood: func(profile string) (*kube.Good, error) { return lastGoodManifest(store, profile) },
		OnRollback: func(profile string, g *kube.Good) {
			fmt.Fprintf(e.stderr, "%s: rolling back to config %s (the last good manifest, from the %s)\n", profile, g.Hash, g.Source)
		},
		OnOutcome: func(o kube.Outcome) {
			if rerr := recordKubeOutcome(store, o, red); rerr != nil {
				fmt.Fprintf(e.stderr, "%s: recording the deploy in %s: %v\n", o.Profile, store.Dir, rerr)
			}
			outcomes = append(outcomes, o)
		}}
	err = kube.Up(e.ctx, cs, res, uo)
	rend.Close()
	if uf.rollback && err != nil {
		return reportKubeRollback(e, err, outcomes, results, red)
	}
	var d *kube.Diagnosis
	var ef *kube.EngineFailure
	switch {
	case errors.As(err, &ef):
		for _, r := range results {
			if r.Profile == ef.Profile {
				summarize(e, r, err, red.String)
			}
		}
		return &exitError{code: ExitFindings, err: errors.New(red.String(err.Error()))}
	case errors.As(err, &d):
		return &exitError{code: ExitFindings, err: err}
	case err != nil:
		return err
	}
	rows, err := kube.Status(e.ctx, cs, res, ns)
	if err != nil {
		return err
	}
	return e.printKubeStatus(rows)
}

// kubeStore is where up --target kubernetes records its deploys: a history
// of its own per context and namespace under the state folder
// (kubernetes/<context>/<namespace>/history.json), apart from the local
// runtimes' history that down, status and the watchdog read.
func kubeStore(t *kubeTarget, f targetFlags, red *redact.Redactor) state.Store {
	ctxName := kube.ContextName(f.kubeconfig, f.context)
	if ctxName == "" {
		ctxName = "current"
	}
	dir := filepath.Join(deploy.New(t.p, nil).Store.Dir, "kubernetes", pathSafe(ctxName), pathSafe(t.ns))
	return state.Store{Dir: dir, Redact: red}
}

// pathSafe is a context or namespace name as one path element.
func pathSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, strings.TrimLeft(s, "."))
}

// lastGoodManifest is the Service and Deployment of the profile's last ready
// deploy in the store (nil when there is none).
func lastGoodManifest(store state.Store, profile string) (*kube.Good, error) {
	rec, ok := store.LastGood(profile, "")
	if !ok || rec.File == "" {
		return nil, nil
	}
	data, err := os.ReadFile(store.Abs(rec.File))
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", rec.ID, err)
	}
	return kube.ParseGood(profile, data)
}

// recordKubeOutcome writes an engine's deploy (ready or failed, with the
// manifest applied) and, after a rollback, the rollback's record (outcome
// rolled-back, or failed when the last good manifest did not become ready).
func recordKubeOutcome(store state.Store, o kube.Outcome, red *redact.Redactor) error {
	unlock, err := store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	now := time.Now()
	rec := state.Record{ID: state.NewID(now, o.Hash), Profile: o.Profile, Time: now.UTC(), Hash: o.Hash, Runtime: "kubernetes", Outcome: state.Ready,
		ReadySecs: o.Ready.Seconds()}
	if o.Err != nil {
		rec.Outcome = state.Failed
		if errors.Is(o.Err, context.DeadlineExceeded) {
			rec.Outcome = state.Timeout
		}
		rec.Diagnosis = red.String(firstLine(o.Err.Error()))
		var f *kube.EngineFailure
		if errors.As(o.Err, &f) { // the monitor's outcome and diagnosis, as on Docker
			rec.Outcome = state.Outcome(f.Result.Outcome)
			if d := strings.TrimSpace(f.Result.Diagnosis + " " + f.Result.RootCause); d != "" {
				rec.Diagnosis = red.String(d)
			}
		}
	}
	if o.Applied != nil {
		if rec.File, err = saveManifest(store, o.Profile, rec.ID, o.Applied); err != nil {
			return err
		}
	}
	if err := store.Put(rec); err != nil {
		return err
	}
	rb := o.RolledBack
	if rb == nil {
		return nil
	}
	at := time.Now()
	if !at.After(now) {
		at = now.Add(time.Millisecond)
	}
	back := state.Record{ID: state.NewID(at, rb.Hash), Profile: o.Profile, Time: at.UTC(), Hash: rb.Hash, Runtime: "kubernetes",
		Outcome: state.RolledBack, RollbackOf: rec.ID}
	if good, ok := store.LastGood(o.Profile, rec.ID); ok && good.Hash == rb.Hash {
		back.ReplayOf, back.File = good.ID, good.File
	}
	if back.File == "" && rb.Good != nil {
		if back.File, err = saveManifest(store, o.Profile, back.ID, rb.Good); err != nil {
			return err
		}
	}
	if rb.Err != nil {
		back.Outcome = state.Failed
		back.Diagnosis = red.String("rollback did not become ready: " + firstLine(rb.Err.Error()))
	}
	return store.Put(back)
}

func saveManifest(store state.Store, profile, id string, g *kube.Good) (string, error) {
	data, err := g.YAML()
	if err != nil {
		return "", err
	}
	return store.SaveResolved(profile, id, data)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// reportKubeRollback prints each failed engine (its diagnosis, or the
// monitor's summary and last lines), then what its rollback did.
func reportKubeRollback(e *env, upErr error, outcomes []kube.Outcome, results []deploy.UpResult, red *redact.Redactor) error {
	var failed []string
	for _, o := range outcomes {
		if o.Err == nil {
			continue
		}
		failed = append(failed, o.Profile)
		var ef *kube.EngineFailure
		printed := false
		if errors.As(o.Err, &ef) {
			for _, r := range results {
				if r.Profile == ef.Profile {
					summarize(e, r, o.Err, red.String)
					printed = true
				}
			}
		}
		if !printed {
			msg := o.Err.Error()
			if d := (*kube.Diagnosis)(nil); errors.As(o.Err, &d) {
				msg = d.Error() // without the profile, said first
			}
			fmt.Fprintf(e.stdout, "%s FAILED: %s\n", o.Profile, red.String(msg))
		}
		switch rb := o.RolledBack; {
		case o.NoGood:
			fmt.Fprintf(e.stdout, "  no last good manifest of %s to roll back to: the failed one is left (vllmctl status --target kubernetes %s)\n", o.Profile, o.Profile)
		case rb == nil:
		case rb.Err == nil:
			fmt.Fprintf(e.stdout, "  rolled back to %s: ready\n", rb.Hash)
		default:
			fmt.Fprintf(e.stdout, "  rolled back to %s: NOT ready: %s\n", rb.Hash, red.String(rb.Err.Error()))
		}
	}
	if len(failed) == 0 { // it failed before any engine was followed (an apply)
		return upErr
	}
	return &exitError{code: ExitFindings, err: fmt.Errorf("%s did not become ready (see above)", strings.Join(failed, ", "))}
}

// logsKubernetes is logs --target kubernetes: the engine container's log of
// the profile's newest pod, through the API, marked as on Docker.
func logsKubernetes(e *env, f targetFlags, profile string, follow bool, since time.Time) error {
	t, err := e.cluster(f, []string{profile})
	if err != nil {
		return err
	}
	if len(t.res.Engines) == 0 {
		return &exitError{code: ExitUsage, err: fmt.Errorf("profile %s has no vLLM engine to read a log of", profile)}
	}
	eng := t.res.Engines[0]
	pod, err := kube.EnginePod(e.ctx, t.cs, t.ns, eng.Name)
	if errors.Is(err, kube.ErrNotFound) {
		return &exitError{code: ExitFindings, err: fmt.Errorf("%s is not deployed in namespace %s: vllmctl up %s --target kubernetes", profile, t.ns, profile)}
	}
	if err != nil {
		return &exitError{code: ExitFindings, err: err}
	}
	red := redactorFor(t.p)
	err = kube.Logs(e.ctx, t.cs, t.ns, pod.Name, kube.LogOptions{Follow: follow, Since: since}, func(l string) { printLogLine(e, red, l) })
	if err != nil && e.ctx.Err() != nil {
		return nil // interrupted while following
	}
	return err
}

// downKubernetes deletes the profiles' Deployments and Services and waits
// for their pods to go (claims and the Secret stay).
func downKubernetes(e *env, f targetFlags, profiles []string) error {
	t, err := e.cluster(f, profiles)
	if err != nil {
		return err
	}
	res, cs, ns := t.res, t.cs, t.ns
	if err := kube.Down(e.ctx, cs, res, ns); err != nil {
		return err
	}
	for _, eng := range res.Engines {
		fmt.Fprintf(e.stdout, "%s: removed (%s/%s)\n", eng.Profile, ns, eng.Name)
	}
	return nil
}

// statusKubernetes shows the profiles' Deployments on the cluster.
func statusKubernetes(e *env, f targetFlags, profiles []string) error {
	t, err := e.cluster(f, profiles)
	if err != nil {
		return err
	}
	res, cs, ns := t.res, t.cs, t.ns
	rows, err := kube.Status(e.ctx, cs, res, ns)
	if err != nil {
		return err
	}
	return e.printKubeStatus(rows)
}

func (e *env) printKubeStatus(rows []kube.StatusRow) error {
	if e.output != "table" {
		return writeData(e.stdout, e.output, rows)
	}
	t := newTable(e.stdout, "PROFILE", "STATE", "READY", "NAMESPACE/NAME", "GPUS", "IMAGE", "CONFIG", "DRIFT")
	for _, r := range rows {
		drift := "no"
		if r.Drift {
			drift = "yes: vllmctl up --target kubernetes " + r.Profile
		}
		t.row(r.Profile, r.State, r.Ready, r.Namespace+"/"+r.Name, r.GPUs, r.Image, r.Hash, drift)
	}
	return t.flush()
}

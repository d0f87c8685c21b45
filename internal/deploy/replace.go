package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/resolve"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Sentinels of up's refusals before anything changes.
var (
	// ErrAlternativeRunning: an alternative of the profile runs, and neither
	// --replace nor an answer on a terminal allows replacing it.
	ErrAlternativeRunning = errors.New("an alternative profile runs")
	// ErrDeclined: the operator answered no to the replacement.
	ErrDeclined = errors.New("replacement declined")
	// ErrClash: what the profile needs (a host port, GPU memory, a container
	// name) is taken by what runs now.
	ErrClash = errors.New("clash with what runs now")
)

// Alternative is a profile that runs one at a time with another, found running.
type Alternative struct {
	Profile string `json:"profile"`
	Reason  string `json:"reason"` // "shares container_name vllm-main", "same x-vllmctl.group big", ...
	State   string `json:"state"`  // running, exited, ...
	loc     located
	insts   []runtime.Instance
}

func extGroup(s *project.Service) string {
	if s.Ext == nil {
		return ""
	}
	return s.Ext.Group
}

// alternativeReason says why two profiles run one at a time, "" when they do
// not: the rules of check (a shared container_name, one x-vllmctl.group, one
// naming the other's profile or service in x-vllmctl.alternatives), unless
// vllmctl.yaml lists them under together:.
func alternativeReason(p *project.Project, a, b *project.Profile) string {
	if a.Name == b.Name || p.Config.RunTogether(a.Name, b.Name) {
		return ""
	}
	lists := func(x *project.Service, other *project.Profile, os *project.Service) bool {
		return x.Ext != nil && (slices.Contains(x.Ext.Alternatives, other.Name) || slices.Contains(x.Ext.Alternatives, os.Name))
	}
	for _, as := range a.Services {
		for _, bs := range b.Services {
			switch {
			case as.Config.ContainerName != "" && as.Config.ContainerName == bs.Config.ContainerName:
				return "shares container_name " + as.Config.ContainerName
			case extGroup(as) != "" && extGroup(as) == extGroup(bs):
				return "same x-vllmctl.group " + extGroup(as)
			case lists(as, b, bs):
				return a.Name + " lists " + b.Name + " in x-vllmctl.alternatives"
			case lists(bs, a, as):
				return b.Name + " lists " + a.Name + " in x-vllmctl.alternatives"
			}
		}
	}
	return ""
}

// runningAlternatives finds the alternatives of pr that are deployed now
// (any state: a stopped container still holds its name), each where its last
// deploy runs.
func (d *Deployer) runningAlternatives(ctx context.Context, pr *project.Profile, o UpOptions) ([]Alternative, error) {
	var out []Alternative
	for _, other := range d.P.Profiles {
		why := alternativeReason(d.P, pr, other)
		if why == "" {
			continue
		}
		loc, err := d.locate(ctx, other.Name)
		if errors.Is(err, state.ErrCorrupt) {
			return nil, err
		}
		if err != nil {
			d.emit(o, pr.Name, "replace", fmt.Sprintf("cannot tell whether %s runs: %v", other.Name, err))
			continue
		}
		insts, err := loc.be.List(ctx, d.P.Config.ProjectName, other.Name)
		if err != nil {
			return nil, fmt.Errorf("is %s running? %w", other.Name, err)
		}
		if len(insts) == 0 {
			continue
		}
		st := insts[len(insts)-1].State
		for _, in := range insts {
			if in.State == runtime.Running {
				st = in.State
			}
		}
		out = append(out, Alternative{Profile: other.Name, Reason: why, State: string(st), loc: loc, insts: insts})
	}
	return out, nil
}

func describe(alts []Alternative) string {
	parts := make([]string, len(alts))
	for i, a := range alts {
		parts[i] = fmt.Sprintf("%s (%s)", a.Profile, a.Reason)
	}
	return strings.Join(parts, " and ")
}

// confirmReplace asks (or refuses) before the alternatives are stopped.
func (d *Deployer) confirmReplace(profile string, alts []Alternative, o UpOptions) error {
	names := make([]string, len(alts))
	for i, a := range alts {
		names[i] = a.Profile
		if !a.loc.hasRec && !o.Force {
			return fmt.Errorf("%w: %s %s, but no deploy of it is recorded in %s, so it could not be brought back if %s fails: stop it first with 'vllmctl down %s' (or pass --force to replace it without that guarantee)",
				ErrAlternativeRunning, a.Profile, a.State, d.Store.HistoryPath(), profile, a.Profile)
		}
	}
	if o.Replace {
		return nil
	}
	if o.Confirm == nil {
		return fmt.Errorf("%w: %s would replace %s, which is %s: pass --replace to stop %s and deploy %s (%s is brought back if %s does not become ready), or stop it with 'vllmctl down %s'",
			ErrAlternativeRunning, profile, describe(alts), alts[0].State, strings.Join(names, ", "), profile, strings.Join(names, ", "), profile, strings.Join(names, " "))
	}
	ok, err := o.Confirm(fmt.Sprintf("%s replaces %s; continue? [y/N] ", profile, describe(alts)))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDeclined, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s not deployed; %s keeps running", ErrDeclined, profile, strings.Join(names, ", "))
	}
	return nil
}

// stopAlternatives removes each alternative where it runs and records it as
// replaced. It returns those stopped (to bring back if the new deploy fails).
func (d *Deployer) stopAlternatives(ctx context.Context, profile, id string, alts []Alternative, o UpOptions) ([]Alternative, error) {
	var stopped []Alternative
	for _, a := range alts {
		d.emit(o, profile, "replace", fmt.Sprintf("stopping %s (%s): %s replaces it", a.Profile, a.Reason, profile))
		spec := d.baseSpec(a.Profile)
		if a.loc.hasRec {
			spec.File, spec.Hash, spec.DeployID = d.Store.Abs(a.loc.rec.File), a.loc.rec.Hash, a.loc.rec.ID
		}
		if spec.File == "" || !exists(spec.File) {
			if pr, err := d.P.Profile(a.Profile); err == nil {
				if r, err := resolve.Resolve(d.P, pr, resolve.ResolveOptions{}); err == nil {
					if rel, err := d.Store.SaveResolved(a.Profile, "down", r.YAML); err == nil {
						spec.File = d.Store.Abs(rel)
					}
				}
			}
		}
		if err := a.loc.be.Remove(ctx, spec); err != nil {
			return stopped, fmt.Errorf("stop %s to replace it by %s: %w", a.Profile, profile, err)
		}
		stopped = append(stopped, a)
		if a.loc.hasRec {
			mark := a.loc.rec
			mark.ID = state.NewID(timeNow(), mark.Hash)
			mark.Time = timeNow().UTC()
			mark.Outcome = state.Replaced
			mark.ReplacedBy = profile
			mark.Trigger = "up " + profile + " (deploy " + id + ")"
			mark.Diagnosis, mark.ReadySecs, mark.RollbackOf, mark.ReplayOf, mark.Replaced = "", 0, "", a.loc.rec.ID, nil
			mark.Kind, mark.Compose, mark.Spec = a.loc.rec.Where().Kind, a.loc.rec.Where().Compose, a.loc.rec.SpecPath()
			if err := d.Store.Put(mark); err != nil {
				return stopped, err
			}
		}
	}
	return stopped, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// liveClashes compares what the profile needs with what runs now: a host port
// bound by anything but the profile itself and the alternatives it replaces,
// a GPU whose running engines' memory shares plus the profile's exceed 1.0,
// and (docker) a container name held by a container this project did not
// start. Findings are check's diagnostics: where, what, the fix.
func (d *Deployer) liveClashes(ctx context.Context, pr *project.Profile, alts []Alternative, o UpOptions) ([]project.Diagnostic, error) {
	skip := map[string]bool{pr.Name: true}
	for _, a := range alts {
		skip[a.Profile] = true
	}
	insts, unreachable, err := d.Instances(ctx)
	if err != nil {
		if errors.Is(err, state.ErrCorrupt) {
			return nil, err
		}
		d.emit(o, pr.Name, "check", "cannot list what runs now: "+err.Error())
	}
	for n, e := range unreachable {
		if !skip[n] {
			d.emit(o, pr.Name, "check", fmt.Sprintf("cannot tell whether %s runs: %v", n, e))
		}
	}
	held := map[int]bool{} // ports the running profile itself or a replaced alternative holds
	var others []runtime.Instance
	for _, in := range insts {
		if skip[in.Profile] {
			if in.HostPort != 0 {
				held[in.HostPort] = true
			}
			if other, err := d.P.Profile(in.Profile); err == nil && in.State == runtime.Running {
				for _, s := range other.Services {
					for _, p := range s.Ports {
						held[p.Published] = true
					}
				}
			}
			continue
		}
		if in.State == runtime.Running || in.State == runtime.Restarting || in.State == runtime.Paused {
			others = append(others, in)
		}
	}
	busy := o.PortBusy
	if busy == nil {
		busy = PortBusy
	}
	var diags []project.Diagnostic
	force := "; --force deploys anyway"
	for _, s := range pr.Services {
		if s.Template {
			continue
		}
		sp := "services." + s.Name
		for _, p := range s.Ports {
			if p.Published <= 0 || (p.Protocol != "" && p.Protocol != "tcp") {
				continue
			}
			pos, _ := pr.PosOf(fmt.Sprintf("%s.ports.%d", sp, p.Index))
			if owner := portOwner(d.P, others, p.Published); owner != "" {
				diags = append(diags, project.Diagnostic{Pos: pos, Severity: project.Error, Code: "port-in-use", Path: fmt.Sprintf("%s.ports.%d", sp, p.Index),
					Message: fmt.Sprintf("host port %d is in use by %s", p.Published, owner),
					Hint:    fmt.Sprintf("stop it first, or publish another host port%s", force)})
				continue
			}
			if held[p.Published] {
				continue
			}
			if busy(p.HostIP, p.Published) {
				diags = append(diags, project.Diagnostic{Pos: pos, Severity: project.Error, Code: "port-in-use", Path: fmt.Sprintf("%s.ports.%d", sp, p.Index),
					Message: fmt.Sprintf("host port %d is already in use by a program that is not an engine of this project", p.Published),
					Hint:    fmt.Sprintf("find it with 'ss -ltnp sport = :%d' (or 'docker ps'), stop it, or publish another host port%s", p.Published, force)})
			}
		}
		if s.Engine && s.Args.Known("gpu-memory-utilization") {
			diags = append(diags, gpuClashes(d.P, pr, s, others, force)...)
		}
		if n := s.Config.ContainerName; n != "" {
			if dg, ok := d.nameClash(ctx, pr, s, n, skip, force); ok {
				diags = append(diags, dg)
			}
		}
	}
	return project.SortDiagnostics(diags), nil
}

// portOwner names the running engine of this project that publishes port.
func portOwner(p *project.Project, others []runtime.Instance, port int) string {
	for _, in := range others {
		match := in.HostPort == port
		if pr, err := p.Profile(in.Profile); err == nil && !match {
			for _, s := range pr.Services {
				for _, sp := range s.Ports {
					match = match || sp.Published == port
				}
			}
		}
		if match {
			return fmt.Sprintf("profile %s (%s on the %s runtime)", in.Profile, in.State, in.Runtime)
		}
	}
	return ""
}

// gpuClashes: the running engines' memory shares on each GPU of s, plus s's.
func gpuClashes(p *project.Project, pr *project.Profile, s *project.Service, others []runtime.Instance, force string) []project.Diagnostic {
	pos, ok := pr.PosOf(s.GPUs.Path)
	if arg, found := s.Args.Lookup("gpu-memory-utilization"); found && arg.Index < len(s.Argv) {
		pos, ok = pr.ArgPos(s, arg.Index, strings.SplitN(s.Argv[arg.Index], "=", 2)[0]), true
	}
	if !ok {
		pos = pr.ServicePos(s.Name)
	}
	seen := map[string]bool{}
	var out []project.Diagnostic
	for _, id := range s.GPUs.IDs {
		sum := s.Args.GPUMemoryUtilization
		var parts []string
		for _, in := range others {
			if seen[in.Profile+"/"+id] {
				continue
			}
			op, err := p.Profile(in.Profile)
			if err != nil {
				continue
			}
			for _, e := range op.Engines() {
				if !e.Args.Known("gpu-memory-utilization") || !slices.Contains(e.GPUs.IDs, id) {
					continue
				}
				seen[in.Profile+"/"+id] = true
				sum += e.Args.GPUMemoryUtilization
				parts = append(parts, fmt.Sprintf("%s %.2f", in.Profile, e.Args.GPUMemoryUtilization))
			}
		}
		if len(parts) == 0 || sum <= 1.0+1e-9 {
			continue
		}
		sort.Strings(parts)
		out = append(out, project.Diagnostic{Pos: pos, Severity: project.Error, Code: "gpu-in-use", Path: "services." + s.Name + ".command",
			Message: fmt.Sprintf("GPU %s: the engines running on it hold %s, and %s asks %.2f: %.2f in all, more than the card (the engine fails its free-memory check)",
				id, strings.Join(parts, " + "), pr.Name, s.Args.GPUMemoryUtilization, sum),
			Hint: fmt.Sprintf("stop them first (vllmctl down %s), or lower --gpu-memory-utilization so the shares sum to 0.90 or less%s", strings.Join(profilesOf(parts), " "), force)})
	}
	return out
}

func profilesOf(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i], _, _ = strings.Cut(p, " ")
	}
	return out
}

// nameLookup is implemented by backends whose engines hold host-wide names (docker).
type nameLookup interface {
	ContainerNamed(ctx context.Context, name string) (runtime.Holder, bool, error)
}

func (d *Deployer) nameClash(ctx context.Context, pr *project.Profile, s *project.Service, name string, skip map[string]bool, force string) (project.Diagnostic, bool) {
	nl, ok := d.Backend.(nameLookup)
	if !ok {
		return project.Diagnostic{}, false
	}
	h, found, err := nl.ContainerNamed(ctx, name)
	if err != nil || !found {
		return project.Diagnostic{}, false
	}
	if h.Project == d.P.Config.ProjectName && skip[h.Profile] {
		return project.Diagnostic{}, false
	}
	pos, _ := pr.PosOf("services." + s.Name + ".container_name")
	dg := project.Diagnostic{Pos: pos, Severity: project.Error, Code: "container-name-taken", Path: "services." + s.Name + ".container_name"}
	short := h.ID
	if len(short) > 12 {
		short = short[:12]
	}
	switch {
	case h.Project == "":
		dg.Message = fmt.Sprintf("container_name %q is taken by container %s (image %s, %s), which vllmctl did not start", name, short, h.Image, h.State)
		dg.Hint = fmt.Sprintf("remove it if it is yours to remove (docker rm -f %s), or use another container_name%s", name, force)
	case h.Project != d.P.Config.ProjectName:
		dg.Message = fmt.Sprintf("container_name %q is taken by container %s of vllmctl project %s (profile %s, %s)", name, short, h.Project, h.Profile, h.State)
		dg.Hint = fmt.Sprintf("stop it from that project (vllmctl -C <its folder> down %s), or use another container_name%s", h.Profile, force)
	default:
		dg.Message = fmt.Sprintf("container_name %q is taken by profile %s (%s), which vllmctl.yaml says runs together with %s", name, h.Profile, h.State, pr.Name)
		dg.Hint = "give each profile its own container_name" + force
	}
	return dg, true
}

// PortBusy reports whether a TCP port cannot be listened on: something holds
// it (on hostIP, or on any address and on loopback when hostIP is empty).
func PortBusy(hostIP string, port int) bool {
	addrs := []string{"0.0.0.0", "127.0.0.1"}
	if hostIP != "" && hostIP != "0.0.0.0" && hostIP != "::" {
		addrs = []string{hostIP}
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				continue // a privileged port: not ours to tell
			}
			return true
		}
		ln.Close()
	}
	return false
}

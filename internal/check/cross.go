package check

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

type owner struct {
	pr  *project.Profile
	svc *project.Service
	pos project.Pos
}

// Relation says whether two services can run at the same time.
type Relation int

const (
	// Together: compose starts both (one profile), or vllmctl.yaml says they run together.
	Together Relation = iota
	// Maybe: two profiles with nothing said: they may run together or one at a time.
	Maybe
	// Alternatives: they run one at a time (a shared container_name, one
	// x-vllmctl.group, x-vllmctl.alternatives, or distinct compose profiles of one file).
	Alternatives
)

// relation tells how two services of the project relate.
func (c *checker) relation(a, b owner) Relation {
	if n := a.svc.Config.ContainerName; n != "" && n == b.svc.Config.ContainerName {
		return Alternatives
	}
	if ga, gb := extGroup(a.svc), extGroup(b.svc); ga != "" && ga == gb {
		return Alternatives
	}
	if names(a, b) || names(b, a) {
		return Alternatives
	}
	if a.pr == b.pr {
		// Compose profiles as declared, whichever COMPOSE_PROFILES activates:
		// services under disjoint ones are never started together.
		pa, pb := a.svc.Config.Profiles, b.svc.Config.Profiles
		if len(pa) > 0 && len(pb) > 0 && !overlap(pa, pb) {
			return Alternatives
		}
		if len(pa) > 0 || len(pb) > 0 || len(a.svc.Gated) > 0 || len(b.svc.Gated) > 0 {
			return Maybe
		}
		return Together
	}
	if c.p.Config.RunTogether(a.pr.Name, b.pr.Name) {
		return Together
	}
	return Maybe
}

func extGroup(s *project.Service) string {
	if s.Ext == nil {
		return ""
	}
	return s.Ext.Group
}

// names reports whether a's x-vllmctl.alternatives names b's profile or service.
func names(a, b owner) bool {
	if a.svc.Ext == nil {
		return false
	}
	return slices.Contains(a.svc.Ext.Alternatives, b.pr.Name) || slices.Contains(a.svc.Ext.Alternatives, b.svc.Name)
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// crossProfile finds clashes between services that run at the same time: host
// ports, container names, and GPUs whose memory-utilization shares add up to
// more than the card. Between profiles that may run one at a time it warns;
// between alternatives it says nothing.
func (c *checker) crossProfile(selected func(string) bool) {
	ports := map[int][]owner{}
	cnames := map[string][]owner{}
	gpus := map[string][]owner{}
	for _, pr := range c.p.Profiles {
		for _, svc := range pr.Services {
			sp := "services." + svc.Name
			for _, p := range svc.Ports {
				if p.Published > 0 {
					pos, _ := pr.PosOf(fmt.Sprintf("%s.ports.%d", sp, p.Index))
					ports[p.Published] = append(ports[p.Published], owner{pr, svc, pos})
				}
			}
			if n := svc.Config.ContainerName; n != "" {
				pos, _ := pr.PosOf(sp + ".container_name")
				cnames[n] = append(cnames[n], owner{pr, svc, pos})
			}
			if svc.Engine && svc.Args.Known("gpu-memory-utilization") {
				pos, ok := pr.PosOf(svc.GPUs.Path)
				if arg, found := svc.Args.Lookup("gpu-memory-utilization"); found {
					pos = pr.ArgPos(svc, arg.Index, strings.SplitN(svc.Argv[arg.Index], "=", 2)[0])
					ok = true
				}
				if !ok {
					pos = pr.ServicePos(svc.Name)
				}
				for _, id := range usedGPUs(svc) {
					gpus[id] = append(gpus[id], owner{pr, svc, pos})
				}
			}
		}
	}
	maybeHint := "if these profiles run one at a time, say so with a shared x-vllmctl.group or x-vllmctl.alternatives; if they run together, list them under together: in vllmctl.yaml to make this an error"
	// maybeFileHint is for services of one file that compose profiles may or may not start together.
	maybeFileHint := "if these services run one at a time, give each its own compose profile (profiles: [name]) or a shared x-vllmctl.group"
	// hint is for profiles; fileHint, when the others are services of the same file.
	clash := func(list []owner, code, what, hint, fileHint string, sameName bool) {
		for i, o := range list {
			if !selected(o.pr.Name) {
				continue
			}
			var together, maybe []string
			sameFile, maybeSameFile := true, true
			for j, x := range list {
				if j == i {
					continue
				}
				r := c.relation(o, x)
				if sameName && o.pr != x.pr && r == Alternatives && !c.p.Config.RunTogether(o.pr.Name, x.pr.Name) {
					continue // a shared container_name across profiles is how operators keep them one at a time
				}
				if sameName && o.pr != x.pr && c.p.Config.RunTogether(o.pr.Name, x.pr.Name) {
					r = Together
				}
				desc := fmt.Sprintf("%s (%s)", x.pr.Name, x.pos)
				if x.pr == o.pr {
					desc = fmt.Sprintf("service %s (%s)", x.svc.Name, x.pos)
				}
				switch r {
				case Together:
					together = append(together, desc)
					sameFile = sameFile && x.pr == o.pr
				case Maybe:
					maybe = append(maybe, desc)
					maybeSameFile = maybeSameFile && x.pr == o.pr
				}
			}
			if len(together) > 0 {
				h := hint
				if sameFile {
					h = fileHint
				}
				c.diag(o.pos, project.Error, code, "services."+o.svc.Name, what+" also used by "+strings.Join(together, ", "), h)
			} else if len(maybe) > 0 {
				h := maybeHint
				if maybeSameFile {
					h = maybeFileHint
				}
				c.diag(o.pos, project.Warning, code, "services."+o.svc.Name, what+" also used by "+strings.Join(maybe, ", ")+", if they run at the same time", h)
			}
		}
	}
	for _, port := range sortedInts(ports) {
		clash(distinctServices(ports[port]), "port-clash", fmt.Sprintf("host port %d is", port), "give each profile its own host port",
			"give each service its own host port; if they are alternatives started one at a time, give each its own compose profile (profiles: [name])", false)
	}
	for _, n := range slices.Sorted(maps.Keys(cnames)) {
		clash(distinctServices(cnames[n]), "container-name-clash", fmt.Sprintf("container_name %q is", n), "use a distinct container_name per service, or none", "use a distinct container_name per service, or none", true)
	}
	for _, id := range slices.Sorted(maps.Keys(gpus)) {
		list := distinctServices(gpus[id])
		for _, o := range list {
			if !selected(o.pr.Name) {
				continue
			}
			// The services that may share this GPU with o at the same time: of
			// several alternatives, the largest share counts once.
			together, maybe := c.coRunning(o, list, Together), c.coRunning(o, list, Maybe)
			sum, parts, certain := shareSum(o, together), []string(nil), true
			if sum <= 1.0+1e-9 {
				sum, certain = shareSum(o, maybe), false
				parts = shareParts(o, maybe)
			} else {
				parts = shareParts(o, together)
			}
			if len(parts) < 2 || sum <= 1.0+1e-9 {
				continue
			}
			msg := fmt.Sprintf("GPU %s is shared and the memory-utilization shares add up to %.2f (%s): the second engine to start fails its free-memory check", id, sum, strings.Join(parts, " + "))
			hint := "lower the shares so they sum to 0.90 or less, and add --enforce-eager on both"
			sev := project.Error
			switch {
			case certain && sameProfile(o, together):
				// Services of one file that docker compose up starts together:
				// a warning, as a file's services are also started one by one
				// (docker compose up SERVICE).
				sev = project.Warning
				parts = []string{fmt.Sprintf("%s %.2f", o.svc.Name, o.svc.Args.GPUMemoryUtilization)}
				for _, x := range together {
					parts = append(parts, fmt.Sprintf("%s %.2f", x.svc.Name, x.svc.Args.GPUMemoryUtilization))
				}
				msg = fmt.Sprintf("GPU %s is shared by services that docker compose up starts together, and their --gpu-memory-utilization values add up to %.2f (%s): the engine that starts second finds less free memory than its share and exits", id, sum, strings.Join(parts, " + "))
				hint = "lower the values so they sum to 0.90 or less (and add --enforce-eager on each), or give each service its own GPU; if they are alternatives started one at a time, give each its own compose profile (profiles: [name])"
			case !certain:
				sev = project.Warning
				msg += ", if they run at the same time"
				if sameProfile(o, maybe) {
					hint += "; " + maybeFileHint
				} else {
					hint += "; " + maybeHint
				}
			}
			c.diag(o.pos, sev, "gpu-overcommit", "services."+o.svc.Name+".command", msg, hint)
		}
	}
}

// sameProfile reports whether every service of others is in o's profile (one compose file and its bases).
func sameProfile(o owner, others []owner) bool {
	for _, x := range others {
		if x.pr != o.pr {
			return false
		}
	}
	return true
}

// usedGPUs returns the host GPUs an engine computes on, as far as the files
// tell. The GPUs the container sees: device_ids (or the ids of
// NVIDIA_VISIBLE_DEVICES or CUDA_VISIBLE_DEVICES), for count: N the first N
// (Docker hands out 0 to N-1), or all of them. A CUDA_VISIBLE_DEVICES set
// beside a device request picks among those by position. Of all GPUs, vLLM
// takes the first tensor × pipeline × data parallel size ones, CUDA numbering
// the visible GPUs from 0 (the host's order on a host of one GPU model). Nil
// when that cannot be told here.
func usedGPUs(svc *project.Service) []string {
	g := svc.GPUs
	if g.Unknown || g.Empty {
		return nil
	}
	visible := g.IDs
	if len(visible) == 0 && g.Count > 0 {
		visible = firstGPUs(g.Count)
	}
	if g.Source != "CUDA_VISIBLE_DEVICES" && (g.All || len(visible) > 0) {
		if picks, ok := cudaVisible(svc); ok {
			if g.All {
				return picks
			}
			var out []string
			for _, p := range picks {
				i, err := strconv.Atoi(p)
				if err != nil || i < 0 || i >= len(visible) {
					return nil // not a position among the visible GPUs: CUDA sees none of them
				}
				out = append(out, visible[i])
			}
			return out
		}
	}
	if g.All && svc.Args.ParallelKnown() {
		return firstGPUs(svc.Args.GPUsNeeded())
	}
	return visible
}

// cudaVisible returns the GPU positions of a CUDA_VISIBLE_DEVICES written in
// the service's environment, when they are plain numbers.
func cudaVisible(svc *project.Service) ([]string, bool) {
	v, ok := svc.Config.Environment["CUDA_VISIBLE_DEVICES"]
	if !ok || v == nil || vllm.HasUnknown(*v) {
		return nil, false
	}
	var out []string
	for _, part := range strings.Split(*v, ",") {
		part = strings.TrimSpace(part)
		if _, err := strconv.Atoi(part); err != nil {
			return nil, false
		}
		out = append(out, part)
	}
	return out, len(out) > 0
}

func firstGPUs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// coRunning picks, among the services of one GPU, a largest set that may run
// with o at once: relation at most max (Together, or Together and Maybe) to o,
// and no two of them alternatives of each other.
func (c *checker) coRunning(o owner, list []owner, most Relation) []owner {
	cands := slices.Clone(list)
	slices.SortStableFunc(cands, func(a, b owner) int {
		switch {
		case a.svc.Args.GPUMemoryUtilization > b.svc.Args.GPUMemoryUtilization:
			return -1
		case a.svc.Args.GPUMemoryUtilization < b.svc.Args.GPUMemoryUtilization:
			return 1
		}
		return 0
	})
	var out []owner
	for _, x := range cands {
		if x.svc == o.svc || c.relation(o, x) > most {
			continue
		}
		ok := true
		for _, y := range out {
			if c.relation(x, y) == Alternatives {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, x)
		}
	}
	return out
}

func shareSum(o owner, others []owner) float64 {
	sum := o.svc.Args.GPUMemoryUtilization
	for _, x := range others {
		sum += x.svc.Args.GPUMemoryUtilization
	}
	return sum
}

func shareParts(o owner, others []owner) []string {
	parts := []string{fmt.Sprintf("%s %.2f", label(o), o.svc.Args.GPUMemoryUtilization)}
	for _, x := range others {
		parts = append(parts, fmt.Sprintf("%s %.2f", label(x), x.svc.Args.GPUMemoryUtilization))
	}
	return parts
}

func label(o owner) string {
	if len(o.pr.Services) > 1 {
		return o.pr.Name + "/" + o.svc.Name
	}
	return o.pr.Name
}

func distinctServices(list []owner) []owner {
	seen := map[string]bool{}
	var out []owner
	for _, o := range list {
		k := o.pr.Name + "/" + o.svc.Name
		if !seen[k] {
			seen[k] = true
			out = append(out, o)
		}
	}
	return out
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

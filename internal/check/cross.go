package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
)

type owner struct {
	pr  *project.Profile
	svc *project.Service
	pos project.Pos
}

// crossProfile finds clashes between profiles: host ports, container names,
// and GPUs whose memory-utilization shares add up to more than the card.
func (c *checker) crossProfile(selected func(string) bool) {
	ports := map[int][]owner{}
	names := map[string][]owner{}
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
				names[n] = append(names[n], owner{pr, svc, pos})
			}
			if svc.Engine {
				pos, ok := pr.PosOf(svc.GPUs.Path)
				if arg, found := svc.Args.Lookup("gpu-memory-utilization"); found {
					pos = pr.ArgPos(svc, arg.Index, strings.SplitN(svc.Argv[arg.Index], "=", 2)[0])
					ok = true
				}
				if !ok {
					pos = pr.ServicePos(svc.Name)
				}
				for _, id := range svc.GPUs.IDs {
					gpus[id] = append(gpus[id], owner{pr, svc, pos})
				}
			}
		}
	}
	clash := func(list []owner, code, what, hint string) {
		if len(list) < 2 {
			return
		}
		for i, o := range list {
			if !selected(o.pr.Name) {
				continue
			}
			var others []string
			for j, x := range list {
				if j != i {
					others = append(others, fmt.Sprintf("%s (%s)", x.pr.Name, x.pos))
				}
			}
			if len(others) == 0 {
				continue
			}
			c.diag(o.pos, project.Error, code, "services."+o.svc.Name, what+" also used by "+strings.Join(others, ", "), hint)
		}
	}
	for _, port := range sortedInts(ports) {
		list := distinctProfiles(ports[port])
		clash(list, "port-clash", fmt.Sprintf("host port %d is", port), "give each profile its own host port")
	}
	for _, n := range sortedKeys(names) {
		clash(distinctProfiles(names[n]), "container-name-clash", fmt.Sprintf("container_name %q is", n), "use a distinct container_name per profile, or none")
	}
	for _, id := range sortedKeys(gpus) {
		list := distinctProfiles(gpus[id])
		if len(list) < 2 {
			continue
		}
		sum := 0.0
		var parts []string
		for _, o := range list {
			sum += o.svc.Args.GPUMemoryUtilization
			parts = append(parts, fmt.Sprintf("%s %.2f", o.pr.Name, o.svc.Args.GPUMemoryUtilization))
		}
		if sum <= 1.0+1e-9 {
			continue
		}
		for _, o := range list {
			if selected(o.pr.Name) {
				c.diag(o.pos, project.Error, "gpu-overcommit", "services."+o.svc.Name+".command",
					fmt.Sprintf("GPU %s is shared and the memory-utilization shares add up to %.2f (%s): the second engine to start fails its free-memory check", id, sum, strings.Join(parts, " + ")),
					"lower the shares so they sum to 0.90 or less, and add --enforce-eager on both")
			}
		}
	}
}

func distinctProfiles(list []owner) []owner {
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

package scaffold

import (
	"fmt"

	"github.com/vllmctl/vllmctl/internal/project"
)

// FreePort returns the first host port from 5000 that no profile publishes.
func FreePort(p *project.Project) int {
	used := map[int]bool{}
	for _, pr := range p.Profiles {
		for _, s := range pr.Services {
			for _, port := range s.Ports {
				used[port.Published] = true
			}
		}
	}
	port := 5000
	for used[port] {
		port++
	}
	return port
}

// GPUShare returns the largest --gpu-memory-utilization already given on
// any of the GPU ids by the engines of other profiles than except, and by
// whom ("name (0.45)"), for `new` to give a new profile what is left.
func GPUShare(p *project.Project, gpus []string, except string) (float64, []string) {
	worst := 0.0
	var users []string
	for _, g := range gpus {
		sum := 0.0
		var who []string
		for _, pr := range p.Profiles {
			if pr.Name == except {
				continue
			}
			for _, s := range pr.Engines() {
				for _, id := range s.GPUs.IDs {
					if id == g {
						sum += s.Args.GPUMemoryUtilization
						who = append(who, fmt.Sprintf("%s (%.2f)", pr.Name, s.Args.GPUMemoryUtilization))
					}
				}
			}
		}
		if sum > worst {
			worst, users = sum, who
		}
	}
	return worst, users
}

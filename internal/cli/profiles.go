package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/project"
)

// profileRow is one engine of one profile, as `profiles` prints it.
type profileRow struct {
	Profile      string  `json:"profile"`
	File         string  `json:"file"`
	Service      string  `json:"service"`
	Model        string  `json:"model"`
	GPUs         string  `json:"gpus"`
	TP           int     `json:"tensor_parallel_size"`
	MaxModelLen  int     `json:"max_model_len,omitempty"`
	GPUMemUtil   float64 `json:"gpu_memory_utilization"`
	Quantization string  `json:"quantization,omitempty"`
	KVCacheDType string  `json:"kv_cache_dtype"`
	HostPort     int     `json:"host_port,omitempty"`
	Image        string  `json:"image"`
	Status       string  `json:"status,omitempty"` // "error" when the profile does not load
}

func newProfilesCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "profiles",
		Short: "List the profiles and the vLLM engine each one runs",
		Long: `List every profile of the project (one compose overlay in configs/docker/profiles/)
with the engine it runs: model, GPUs, tensor parallel size, context length,
quantization, KV cache dtype, host port and image.

A profile that does not load is listed with status "error"; run 'vllmctl check' for why.`,
		Example: "  vllmctl profiles\n  vllmctl profiles -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			rows := profileRows(p)
			if e.output != "table" {
				return writeData(e.stdout, e.output, rows)
			}
			if len(rows) == 0 {
				_, err := e.stdout.Write([]byte("no profiles in " + p.Config.ProfilesDir + " (create one with 'vllmctl new NAME --model ID')\n"))
				return err
			}
			t := newTable(e.stdout, "PROFILE", "FILE", "SERVICE", "MODEL", "GPUS", "TP", "MAX-LEN", "QUANT", "KV", "PORT", "IMAGE")
			for _, r := range rows {
				if r.Status == "error" {
					t.row(r.Profile, r.File, "(does not load: run vllmctl check)", "", "", "", "", "", "", "", "")
					continue
				}
				t.row(r.Profile, r.File, r.Service, r.Model, r.GPUs, itoa(r.TP), itoa(r.MaxModelLen), r.Quantization, r.KVCacheDType, itoa(r.HostPort), r.Image)
			}
			return t.flush()
		},
	}
	addOutput(c, e)
	return c
}

func profileRows(p *project.Project) []profileRow {
	rows := []profileRow{}
	for _, pr := range p.Profiles {
		if pr.Compose == nil {
			rows = append(rows, profileRow{Profile: pr.Name, File: pr.File, Status: "error"})
			continue
		}
		for _, s := range pr.Engines() {
			rows = append(rows, profileRow{
				Profile: pr.Name, File: pr.File, Service: s.Name, Model: s.Args.Model,
				GPUs: s.GPUs.String(), TP: s.Args.TensorParallelSize, MaxModelLen: s.Args.MaxModelLen,
				GPUMemUtil: s.Args.GPUMemoryUtilization, Quantization: s.Args.Quantization,
				KVCacheDType: s.Args.KVCacheDType, HostPort: s.HostPort(), Image: s.Config.Image,
			})
		}
	}
	return rows
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func joinOr(list []string, empty string) string {
	if len(list) == 0 {
		return empty
	}
	return strings.Join(list, ",")
}

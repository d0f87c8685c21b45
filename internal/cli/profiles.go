package cli

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// profileRow is one engine of one profile, as `profiles` prints it. A value
// is null in JSON when it cannot be known here; Sources says, per field, whether
// the value is written in the files, vLLM's default, or unknown.
type profileRow struct {
	Profile      string            `json:"profile"`
	File         string            `json:"file"`
	Service      string            `json:"service"`
	Model        *string           `json:"model"`
	GPUs         string            `json:"gpus"`
	TP           *int              `json:"tensor_parallel_size"`
	MaxModelLen  *int              `json:"max_model_len"`
	GPUMemUtil   *float64          `json:"gpu_memory_utilization"`
	Quantization *string           `json:"quantization"`
	KVCacheDType *string           `json:"kv_cache_dtype"`
	MaxNumSeqs   *int              `json:"max_num_seqs"`
	HostPort     int               `json:"host_port,omitempty"`
	Image        string            `json:"image"`
	VLLMVersion  string            `json:"vllm_version"`
	Sources      map[string]string `json:"sources,omitempty"` // field -> written, default, unknown
	Status       string            `json:"status,omitempty"`  // "error": the profile does not load; "relaxed": compose refuses it, values read anyway
	cells        map[string]string
}

func newProfilesCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "profiles",
		Short: "List the profiles and the vLLM engine each one runs",
		Long: `List every profile of the project (one compose overlay in configs/docker/profiles/)
with the engine it runs: model, GPUs, tensor parallel size, context length,
quantization, KV cache dtype, sequences, host port, image and vLLM release.

Values written in the files are printed as they are; vLLM's defaults (not
written) in parentheses; values that cannot be known here (a variable no .env
sets, a script vllmctl cannot read) as ?${VAR}, or as ?1 with the reason
printed once under the table when it is longer than 40 characters. In JSON an unknown value is null
and "sources" says written, default or unknown per field.

A profile that does not load is listed with status "error"; run 'vllmctl check' for why.`,
		Example: "  vllmctl profiles\n  vllmctl profiles -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			rows := profileRows(p)
			return e.render(rows, func(w io.Writer) error {
				if len(rows) == 0 {
					_, err := w.Write([]byte(p.NoProfilesHint() + "\n"))
					return err
				}
				t := newTable(w, "PROFILE", "FILE", "SERVICE", "MODEL", "GPUS", "TP", "MAX-LEN", "UTIL", "QUANT", "KV", "SEQS", "PORT", "IMAGE")
				var fn footnotes
				marks := false
				for _, r := range rows {
					if r.Status == "error" {
						t.row(r.Profile, r.File, "(does not load: run vllmctl check)", "", "", "", "", "", "", "", "", "", "")
						continue
					}
					for _, src := range r.Sources {
						marks = marks || src != vllm.FromWritten.String()
					}
					c := r.cells
					t.row(r.Profile, r.File, r.Service, fn.cell(c["model"]), r.GPUs, fn.cell(c["tensor-parallel-size"]), fn.cell(c["max-model-len"]),
						fn.cell(c["gpu-memory-utilization"]), fn.cell(c["quantization"]), fn.cell(c["kv-cache-dtype"]), fn.cell(c["max-num-seqs"]),
						itoa(r.HostPort), r.Image)
				}
				if err := t.flush(); err != nil {
					return err
				}
				if marks {
					_, err = w.Write([]byte("(x): vLLM's default, not written in the files; ?X: unknown here (X says why)\n"))
				}
				for i, why := range fn.list {
					if err == nil {
						_, err = fmt.Fprintf(w, "?%d: unknown: %s\n", i+1, why)
					}
				}
				return err
			})
		},
	}
	addOutput(c, e)
	return c
}

// footnotes keeps a table narrow: an unknown cell whose reason is longer
// than 40 characters ("may be set by the service's image and command …")
// becomes ?N, and the reason is printed once below the table as
// "?N: unknown: …". A short one (?${VAR}) stays in the cell.
type footnotes struct{ list []string }

func (f *footnotes) cell(v string) string {
	why, ok := strings.CutPrefix(v, "?")
	if !ok || len(why) <= 40 {
		return v
	}
	i := slices.Index(f.list, why)
	if i < 0 {
		f.list = append(f.list, why)
		i = len(f.list) - 1
	}
	return fmt.Sprintf("?%d", i+1)
}

// cell renders an effective value for the table: as written, (default), or ?unknown.
func cell(a *vllm.Args, flag string) string {
	v, src := a.Effective(flag)
	switch src {
	case vllm.FromDefault:
		switch flag {
		case "max-model-len", "quantization":
			return "(auto)"
		}
		return "(" + v + ")"
	case vllm.FromUnknown:
		return "?" + v
	}
	return v
}

func profileRows(p *project.Project) []profileRow {
	rows := []profileRow{}
	for _, pr := range p.Profiles {
		if pr.Compose == nil && !pr.Relaxed {
			rows = append(rows, profileRow{Profile: pr.Name, File: pr.File, Status: "error"})
			continue
		}
		for _, s := range pr.Engines() {
			a := &s.Args
			r := profileRow{
				Profile: pr.Name, File: pr.File, Service: s.Name,
				GPUs: s.GPUs.String(), HostPort: s.HostPort(), Image: vllm.ShowUnknown(s.Config.Image),
				VLLMVersion: s.Version.String(), Sources: map[string]string{}, cells: map[string]string{},
			}
			if pr.Relaxed {
				r.Status = "relaxed"
			}
			for _, f := range []string{"model", "tensor-parallel-size", "max-model-len", "gpu-memory-utilization", "quantization", "kv-cache-dtype", "max-num-seqs"} {
				src := a.SourceOf(f)
				r.Sources[strings.ReplaceAll(f, "-", "_")] = src.String()
				r.cells[f] = cell(a, f)
				if src == vllm.FromUnknown {
					continue
				}
				switch f {
				case "model":
					r.Model = &a.Model
				case "tensor-parallel-size":
					r.TP = &a.TensorParallelSize
				case "max-model-len":
					if a.MaxModelLen > 0 {
						r.MaxModelLen = &a.MaxModelLen
					}
				case "gpu-memory-utilization":
					r.GPUMemUtil = &a.GPUMemoryUtilization
				case "quantization":
					if a.Quantization != "" {
						r.Quantization = &a.Quantization
					}
				case "kv-cache-dtype":
					r.KVCacheDType = &a.KVCacheDType
				case "max-num-seqs":
					r.MaxNumSeqs = &a.MaxNumSeqs
				}
			}
			rows = append(rows, r)
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

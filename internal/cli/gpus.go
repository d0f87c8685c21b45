package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/project"
)

// gpuFlags declare hardware for offline planning.
type gpuFlags struct {
	card   string
	count  int
	memory string
}

func (f *gpuFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.card, "gpu", "", `plan for this card instead of nvidia-smi, e.g. "RTX 4090"`)
	c.Flags().IntVar(&f.count, "gpus", 0, "number of declared GPUs (with --gpu or --gpu-memory)")
	c.Flags().StringVar(&f.memory, "gpu-memory", "", "memory of each declared GPU, e.g. 24GiB")
}

// execRunner runs a real command.
func execRunner(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return string(out), err
}

// inventory picks the GPUs to plan for (gpu.Choose: flags, else
// nvidia-smi, else vllmctl.yaml) and says where they came from; GPUs the
// flags cannot describe are a usage error.
func (e *env) inventory(p *project.Project, f gpuFlags) ([]gpu.GPU, string, error) {
	if (f.card != "" || f.memory != "") && f.count == 0 && p != nil {
		f.count = gpusUsed(p, nil) // --gpu or --gpu-memory alone: as many as the profiles use
	}
	in := gpu.Inventory{Wanted: gpu.Wanted{Card: f.card, Memory: f.memory, Count: f.count}, DeclaredFrom: project.ConfigFile}
	if _, err := exec.LookPath("nvidia-smi"); err == nil && os.Getenv("VLLMCTL_NO_NVIDIA_SMI") == "" {
		in.Run = execRunner
	}
	if p != nil && len(p.Config.GPUs) > 0 {
		in.Declared = func() ([]gpu.GPU, error) { return declaredInventory(p) }
	}
	g, src, err := gpu.Choose(e.ctx, in)
	if fe := (*gpu.FlagsError)(nil); errors.As(err, &fe) {
		return nil, "", usageErr("%v", err)
	}
	return g, src, err
}

// declaredInventory is the gpus: list of vllmctl.yaml.
func declaredInventory(p *project.Project) ([]gpu.GPU, error) {
	var all []gpu.GPU
	for _, d := range p.Config.GPUs {
		g, err := gpu.Declare(d.Name, d.Memory, d.Count)
		if err != nil {
			return nil, fmt.Errorf("%s: gpus: %w", project.ConfigFile, err)
		}
		for i := range g {
			g[i].Index = len(all)
			all = append(all, g[i])
		}
	}
	return all, nil
}

func newGPUsCmd(e *env) *cobra.Command {
	var f gpuFlags
	c := &cobra.Command{
		Use:   "gpus",
		Short: "List the GPUs vllmctl plans for (nvidia-smi, vllmctl.yaml or flags)",
		Long: `List the GPU inventory: live from nvidia-smi when it is installed (with the
processes holding memory), else the gpus: list of vllmctl.yaml, or cards declared
with --gpu/--gpus/--gpu-memory. Indices are nvidia-smi's (PCI bus order), which
compose device_ids and NVIDIA_VISIBLE_DEVICES use; the CUDA column is the index
inside a process that sees all GPUs (CUDA_DEVICE_ORDER is honoured).`,
		Example: "  vllmctl gpus\n  vllmctl gpus --gpu \"RTX 4090\" --gpus 3 -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _ := project.Load(e.ctx, project.Options{Root: e.root, Environ: e.environ, Images: e.images()})
			if p != nil {
				e.learn(p)
			}
			gpus, src, err := e.inventory(p, f)
			if err != nil {
				return err
			}
			if len(gpus) == 0 {
				return &exitError{code: ExitFindings, err: errors.New("no GPU found: nvidia-smi is not installed and vllmctl.yaml declares none (use --gpu \"RTX 4090\" --gpus 2)")}
			}
			return e.render(gpus, func(w io.Writer) error {
				cuda := map[int]int{}
				for i, g := range gpu.CUDAOrder(gpus, e.environ["CUDA_DEVICE_ORDER"]) {
					cuda[g.Index] = i
				}
				fmt.Fprintf(w, "source: %s\n", src)
				t := newTable(w, "INDEX", "CUDA", "NAME", "TOTAL", "USED", "FREE", "PROCESSES")
				for _, g := range gpus {
					var procs []string
					for _, pr := range g.Processes {
						procs = append(procs, fmt.Sprintf("%s[%d] %dMiB", pr.Name, pr.PID, pr.UsedMiB))
					}
					t.row(fmt.Sprint(g.Index), fmt.Sprint(cuda[g.Index]), g.Name, fmt.Sprintf("%.2f GiB", g.TotalGiB()),
						fmt.Sprintf("%.2f GiB", float64(g.UsedMiB)/1024), fmt.Sprintf("%.2f GiB", g.FreeGiB()), strings.Join(procs, ", "))
				}
				return t.flush()
			})
		},
	}
	f.register(c)
	addOutput(c, e)
	return c
}

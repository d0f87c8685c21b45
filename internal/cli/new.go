package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/atomicfile"
	"github.com/vllmctl/vllmctl/internal/check"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/scaffold"
)

type newFlags struct {
	spec  scaffold.ProfileSpec
	gpus  string
	force bool
	noEnv bool
}

func newNewCmd(e *env) *cobra.Command {
	var f newFlags
	c := &cobra.Command{
		Use:   "new NAME --model ID",
		Short: "Write a profile from the built-in template, sized from the model",
		Long: `New writes configs/docker/profiles/NAME.yml for a model, sized from its name
(micro < 7B, mini 7-14B, medium 14-34B, large 34B+) unless --size is given:
context length, max sequences, tool and reasoning parsers, a pinned image,
ipc: host, a Hugging Face cache volume, and the GPUs you name.

It picks a free host port when --port is not given, lowers
--gpu-memory-utilization and adds --enforce-eager when the GPUs are shared with
another profile, and adds the profile's API key variable to .env (a generated
key, never printed) and .env.example. The result passes 'vllmctl check'.`,
		Example: `  vllmctl new mini --model Qwen/Qwen3-8B-AWQ --gpu-ids 2
  vllmctl new medium --model Qwen/Qwen3-32B-AWQ --gpu-ids 0,1 --max-model-len 65536 --quantization awq_marlin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.spec.Name = args[0]
			if f.gpus != "" {
				for _, g := range strings.Split(f.gpus, ",") {
					if g = strings.TrimSpace(g); g != "" {
						f.spec.GPUs = append(f.spec.GPUs, g)
					}
				}
			}
			return runNew(e, f)
		},
	}
	c.Flags().StringVar(&f.spec.Model, "model", "", "Hugging Face repo id or path of the model (required)")
	c.Flags().StringVar(&f.gpus, "gpu-ids", "", "host GPU ids, comma-separated; the count sets --tensor-parallel-size (default 0)")
	// --gpus is a count on plan, up and gpus; new took ids under that name before.
	c.Flags().StringVar(&f.gpus, "gpus", "", "deprecated: use --gpu-ids")
	_ = c.Flags().MarkDeprecated("gpus", "it is a count on other commands; use --gpu-ids 0,1")
	c.Flags().IntVar(&f.spec.Port, "port", 0, "host port (default: the first free one from 5000)")
	c.Flags().IntVar(&f.spec.MaxModelLen, "max-model-len", 0, "context length (default: from the size class)")
	c.Flags().StringVar(&f.spec.Quantization, "quantization", "", "vLLM quantization method, e.g. awq_marlin")
	c.Flags().StringVar(&f.spec.Size, "size", "", "micro, mini, medium or large (default: inferred from the model name)")
	c.Flags().Float64Var(&f.spec.Utilization, "gpu-memory-utilization", 0, "fraction of each GPU for vLLM (default 0.85, less when shared)")
	c.Flags().BoolVar(&f.force, "force", false, "overwrite an existing profile")
	c.Flags().BoolVar(&f.noEnv, "no-env", false, "do not touch .env and .env.example")
	_ = c.MarkFlagRequired("model")
	return c
}

func runNew(e *env, f newFlags) error {
	p, err := e.load(project.Options{})
	if err != nil {
		return err
	}
	spec := f.spec
	if spec.Port == 0 {
		spec.Port = scaffold.FreePort(p)
	}
	if len(spec.GPUs) == 0 {
		spec.GPUs = []string{"0"}
	}
	if spec.Utilization == 0 {
		used, users := scaffold.GPUShare(p, spec.GPUs, spec.Name)
		if used > 0 {
			free := 0.90 - used
			if free < 0.10 {
				return &exitError{code: ExitFindings, err: fmt.Errorf("GPU(s) %s are already given %.2f by %s: pick other GPUs with --gpu-ids, or lower their --gpu-memory-utilization",
					strings.Join(spec.GPUs, ","), used, strings.Join(users, ", "))}
			}
			spec.Utilization = min(0.85, free)
			spec.EnforceEager = true
		}
	}
	if err := spec.Complete(); err != nil {
		return usageErr("%v", err)
	}
	rel := filepath.ToSlash(filepath.Join(p.Config.ProfilesDir, spec.Name+".yml"))
	path := filepath.Join(p.Root, filepath.FromSlash(rel))
	if _, err := os.Stat(path); err == nil && !f.force {
		return &exitError{code: ExitFindings, err: fmt.Errorf("%s exists: pass --force to overwrite, or choose another name", rel)}
	}
	if err := atomicfile.WriteFile(path, []byte(scaffold.Profile(spec, p.Base != nil)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%s, %s, GPUs %s, port %d)\n", rel, spec.Model, spec.Size, strings.Join(spec.GPUs, ","), spec.Port)
	if !f.noEnv {
		if err := ensureEnv(e, p, scaffold.APIKeyVar(spec.Name)); err != nil {
			return err
		}
	}
	p, err = e.load(project.Options{})
	if err != nil {
		return err
	}
	diags := dropInfo(check.Run(p, check.Options{Profiles: []string{spec.Name}}))
	var mine []project.Diagnostic
	for _, d := range diags {
		if d.File == rel {
			mine = append(mine, d)
		}
	}
	for _, d := range mine {
		fmt.Fprintln(e.stdout, redactorFor(p).String(d.String()))
	}
	if project.CountErrors(mine) > 0 {
		return &exitError{code: ExitFindings, err: fmt.Errorf("the new profile has errors (above)")}
	}
	fmt.Fprintf(e.stdout, "check: %s has no errors; deploy it with 'vllmctl up %s'\n", spec.Name, spec.Name)
	return nil
}

// ensureEnv adds key to .env with a generated value and to .env.example empty,
// when they lack it. The value is never printed.
func ensureEnv(e *env, p *project.Project, key string) error {
	envPath := filepath.Join(p.Root, filepath.FromSlash(p.Config.EnvFile))
	if p.Env == nil || !hasKey(p.Env.Values, key) {
		buf := make([]byte, 16)
		if _, err := rand.Read(buf); err != nil {
			return err
		}
		old, err := os.ReadFile(envPath)
		if err != nil { // a new .env starts as a copy of .env.example
			old, _ = os.ReadFile(filepath.Join(p.Root, ".env.example"))
			fmt.Fprintf(e.stdout, "created %s from .env.example: fill in its empty values\n", p.Config.EnvFile)
		}
		content := string(old)
		if content != "" && !strings.HasSuffix(content, "\n") {
			content += "\n"
		}
		content += key + "=" + hex.EncodeToString(buf) + "\n"
		if err := atomicfile.WriteFile(envPath, []byte(content), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added %s to %s (generated; read it there)\n", key, p.Config.EnvFile)
	}
	exPath := filepath.Join(p.Root, ".env.example")
	if p.EnvExample != nil && !hasKey(p.EnvExample.Values, key) {
		old, _ := os.ReadFile(exPath)
		content := strings.TrimRight(string(old), "\n") + "\n" + key + "=\n"
		if err := atomicfile.WriteFile(exPath, []byte(content), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added %s= to .env.example\n", key)
	}
	return nil
}

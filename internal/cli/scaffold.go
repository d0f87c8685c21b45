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

func newInitCmd(e *env) *cobra.Command {
	var force, adopt bool
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create the project layout: base compose file, profiles folder, .env.example, .gitignore",
		Long: `Init writes a new project in DIR (default: the current folder):

  configs/docker/docker-compose.yml   commented base file every profile extends
  configs/docker/profiles/            one file per profile ('vllmctl new' writes them)
  .env.example                        template of the root .env
  .gitignore                          keeps .env and the .vllmctl/ state out of git
  vllmctl.yaml                        settings, all optional
  README.md                           a section on how the services are run

Existing files are kept unless --force; a README.md that exists gets the section appended once.

With --adopt, init keeps an existing folder as it is and writes only
vllmctl.yaml: its profiles: lists every compose file of the folder that runs a
vLLM engine (a model zoo with one file per model and variant, or stand-alone
files at the root), each becoming a profile named from its path. Files without
an engine, archives and files that are not compose files are listed as skipped,
with the reason.`,
		Example: "  vllmctl init\n  vllmctl init ~/llm-services\n  vllmctl init --adopt ~/model-zoo",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := e.root
			if len(args) == 1 {
				dir = args[0]
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if adopt {
				return adoptFolder(e, abs, force)
			}
			for _, f := range scaffold.Init(filepath.Base(abs)) {
				path := filepath.Join(abs, filepath.FromSlash(f.Path))
				old, err := os.ReadFile(path)
				exists := err == nil
				content := f.Content
				switch {
				case exists && f.Path == "README.md" && !force:
					if strings.Contains(string(old), "## vLLM services") {
						fmt.Fprintf(e.stdout, "kept    %s (already has the vLLM section)\n", f.Path)
						continue
					}
					content = strings.TrimRight(string(old), "\n") + "\n\n" + f.Content
				case exists && !force:
					fmt.Fprintf(e.stdout, "kept    %s (exists; --force overwrites)\n", f.Path)
					continue
				}
				if err := atomicfile.WriteFile(path, []byte(content), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "wrote   %s\n", f.Path)
			}
			fmt.Fprintf(e.stdout, "\nnext: cp .env.example .env, then vllmctl new NAME --model ID\n")
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	c.Flags().BoolVar(&adopt, "adopt", false, "keep the folder's compose files and write a vllmctl.yaml that lists those running vLLM as profiles")
	return c
}

// adoptFolder writes vllmctl.yaml for an existing folder: every compose file
// that runs a vLLM engine becomes a profile.
func adoptFolder(e *env, root string, force bool) error {
	cfgPath := filepath.Join(root, project.ConfigFile)
	if _, err := os.Stat(cfgPath); err == nil && !force {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%s exists: --adopt writes it; pass --force to replace it, or add a profiles: list to it by hand", project.ConfigFile)}
	}
	candidates, err := project.GlobFiles(root, []string{"**/*.yml", "**/*.yaml"})
	if err != nil {
		return err
	}
	var adopted []string
	type skip struct{ file, why string }
	var skipped []skip
	for _, f := range candidates {
		if why := archivedPath(f); why != "" {
			skipped = append(skipped, skip{f, why})
			continue
		}
		if f == project.ConfigFile {
			continue
		}
		p, err := project.Load(e.ctx, project.Options{Root: root, Files: []string{filepath.Join(root, filepath.FromSlash(f))}, Environ: e.environ})
		if err != nil || len(p.Profiles) == 0 {
			skipped = append(skipped, skip{f, "cannot be read"})
			continue
		}
		pr := p.Profiles[0]
		if len(pr.Services) == 0 {
			skipped = append(skipped, skip{f, "not a compose file with services"})
			continue
		}
		if len(pr.Engines()) == 0 {
			var names []string
			for _, s := range pr.Services {
				names = append(names, s.Name)
			}
			skipped = append(skipped, skip{f, "no vLLM engine (services: " + strings.Join(names, ", ") + ")"})
			continue
		}
		adopted = append(adopted, f)
	}
	if len(adopted) == 0 {
		for _, s := range skipped {
			fmt.Fprintf(e.stdout, "skipped %s: %s\n", s.file, s.why)
		}
		return &exitError{code: ExitFindings, err: fmt.Errorf("no compose file under %s runs a vLLM engine: nothing to adopt", root)}
	}
	names := project.ProfileNames(adopted)
	var b strings.Builder
	b.WriteString("# Written by vllmctl init --adopt: every compose file below is a profile,\n")
	b.WriteString("# named from its path. Globs work too (\"models/*/vllm/compose/**/*.yml\").\n")
	b.WriteString("profiles:\n")
	for _, f := range adopted {
		fmt.Fprintf(&b, "  - %s  # profile %s\n", f, names[f])
	}
	if err := atomicfile.WriteFile(cfgPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	for _, f := range adopted {
		fmt.Fprintf(e.stdout, "adopted %s as profile %s\n", f, names[f])
	}
	for _, s := range skipped {
		fmt.Fprintf(e.stdout, "skipped %s: %s\n", s.file, s.why)
	}
	fmt.Fprintf(e.stdout, "\nwrote %s (%d profile(s)); next: vllmctl check\n", project.ConfigFile, len(adopted))
	return nil
}

// archivedPath says why a path is an archive rather than a live file, or "".
func archivedPath(rel string) string {
	lower := strings.ToLower(rel)
	for _, seg := range strings.Split(lower, "/") {
		switch {
		case strings.HasPrefix(seg, "archive"), strings.Contains(seg, "deprecated"), strings.HasSuffix(seg, "_history"):
			return "in an archive folder"
		case strings.Contains(seg, ".rejected-"), strings.Contains(seg, ".archived-"):
			return "an archived or rejected file"
		}
	}
	return ""
}

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
		spec.Port = freePort(p)
	}
	if len(spec.GPUs) == 0 {
		spec.GPUs = []string{"0"}
	}
	if spec.Utilization == 0 {
		used, users := gpuShare(p, spec.GPUs, spec.Name)
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

// freePort returns the first host port from 5000 that no profile publishes.
func freePort(p *project.Project) int {
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

// gpuShare returns the largest utilization already given on any of the GPUs, and by whom.
func gpuShare(p *project.Project, gpus []string, except string) (float64, []string) {
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

// Package scaffold renders the files of a new project (`vllmctl init`) and of a
// new profile (`vllmctl new`) from built-in templates. It is pure: it returns
// file contents and leaves writing to the caller.
package scaffold

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// File is one file to write, relative to the project root.
type File struct {
	Path    string
	Content string
	Mode    uint32 // 0 means 0o644
}

// DefaultImage is the vLLM image templates pin.
const DefaultImage = "vllm/vllm-openai:v0.11.0"

// Init returns the files of an empty project in the standard layout.
func Init(projectName string) []File {
	return []File{
		{Path: "configs/docker/docker-compose.yml", Content: baseFile},
		{Path: "configs/docker/profiles/.gitkeep", Content: ""},
		{Path: ".env.example", Content: "# Copy to .env (never commit .env). vllmctl reads .env from the project root.\nHF_TOKEN=\n"},
		{Path: ".gitignore", Content: ".env\n.vllmctl/\n"},
		{Path: "vllmctl.yaml", Content: fmt.Sprintf(configFile, projectName)},
		{Path: "README.md", Content: readmeSection},
	}
}

const baseFile = `# Base file shared by every profile (configs/docker/profiles/<name>.yml).
# Deploy a profile by hand with:
#   docker compose --env-file .env -f configs/docker/docker-compose.yml \
#     -f configs/docker/profiles/<name>.yml up -d
# or with vllmctl:  vllmctl up <name>
#
# Profiles extend the vllm-base service; its compose profile "template" keeps it
# from starting on its own, and each profile resets it with 'profiles: !reset []'.
services:
  vllm-base:
    profiles: ["template"]
    image: ` + DefaultImage + `     # pin a release: 'latest' changes flags under you
    ipc: host                            # PyTorch workers share memory through /dev/shm
    restart: "no"                        # vllmctl watches and restarts; no silent crash loops
    environment:
      HF_TOKEN: ${HF_TOKEN:-}            # from the root .env; empty is fine for public models
      VLLM_LOGGING_COLOR: "0"
    volumes:
      - hf-cache:/root/.cache/huggingface   # keeps downloaded weights across recreates

volumes:
  hf-cache:
`

const configFile = `# vllmctl settings. Every key is optional; shown values are the defaults.
project_name: %s
# base_file: configs/docker/docker-compose.yml
# profiles_dir: configs/docker/profiles
# env_file: .env
# archive_dir: archived
# archive_retention: 6mo
# state_dir: .vllmctl
# GPUs to plan for when nvidia-smi is not available:
# gpus:
#   - name: RTX 4090
#     count: 2
`

const readmeSection = `## vLLM services

Profiles live in ` + "`configs/docker/profiles/<name>.yml`" + `, one per service, on top of
` + "`configs/docker/docker-compose.yml`" + `. Secrets and ports go in ` + "`.env`" + ` at the root
(copy ` + "`.env.example`" + `).

    vllmctl new mini --model Qwen/Qwen3-8B-AWQ --gpus 0   # write a profile
    vllmctl check                                         # find defects before deploying
    vllmctl profiles                                      # what runs where
`

// ProfileSpec describes a profile to generate.
type ProfileSpec struct {
	Name          string
	Model         string
	GPUs          []string // host GPU ids; default ["0"]
	Port          int      // host port; default 5000
	MaxModelLen   int      // default from the size class
	Quantization  string
	Size          string  // micro, mini, medium, large; default inferred from the model name
	Utilization   float64 // default 0.85; lower when the GPU is shared
	EnforceEager  bool
	ToolParser    string // default hermes for Qwen/Hermes-style models, none otherwise
	ReasoningName string // default qwen3 for Qwen3 models
}

// sizeDefaults are the defaults per size class: context length and max sequences.
var sizeDefaults = map[string]struct{ maxLen, seqs int }{
	"micro":  {16384, 64},
	"mini":   {32768, 32},
	"medium": {32768, 16},
	"large":  {32768, 8},
}

// APIKeyVar is the .env key holding a profile's API key.
func APIKeyVar(name string) string { return "VLLM_API_KEY_" + envName(name) }

// PortVar is the .env key holding a profile's host port.
func PortVar(name string) string { return "VLLM_PORT_" + envName(name) }

func envName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	return b.String()
}

// Complete fills the defaults of a spec and reports an error for values that cannot work.
func (s *ProfileSpec) Complete() error {
	if s.Name == "" || strings.ContainsAny(s.Name, "/\\. ") {
		return fmt.Errorf("profile name %q: use letters, digits, '-' or '_'", s.Name)
	}
	if s.Model == "" {
		return fmt.Errorf("--model is required (a Hugging Face repo id such as Qwen/Qwen3-8B-AWQ)")
	}
	if len(s.GPUs) == 0 {
		s.GPUs = []string{"0"}
	}
	if s.Port == 0 {
		s.Port = 5000
	}
	if s.Size == "" {
		b, ok := vllm.ParamsBillion(s.Model)
		if !ok {
			return fmt.Errorf("cannot tell the size of %q from its name: pass --size micro|mini|medium|large", s.Model)
		}
		s.Size = vllm.SizeClass(b)
	}
	d, ok := sizeDefaults[s.Size]
	if !ok {
		return fmt.Errorf("--size %q: use micro, mini, medium or large", s.Size)
	}
	if s.MaxModelLen == 0 {
		s.MaxModelLen = d.maxLen
	}
	if s.Utilization == 0 {
		s.Utilization = 0.85
	}
	if s.Utilization <= 0 || s.Utilization > 1 {
		return fmt.Errorf("gpu memory utilization %g is outside (0, 1]", s.Utilization)
	}
	lower := strings.ToLower(s.Model)
	if s.ToolParser == "" && (strings.Contains(lower, "qwen") || strings.Contains(lower, "hermes")) {
		s.ToolParser = "hermes"
	}
	if s.ReasoningName == "" && strings.Contains(lower, "qwen3") && !strings.Contains(lower, "coder") && !strings.Contains(lower, "instruct-2507") {
		s.ReasoningName = "qwen3"
	}
	if s.Quantization != "" && !slices.Contains(vllm.QuantizationMethods, s.Quantization) {
		return fmt.Errorf("--quantization %q is not a vLLM method (known: %s)", s.Quantization, strings.Join(vllm.QuantizationMethods, ", "))
	}
	return nil
}

// Profile renders the overlay file for a completed spec. The profile extends
// vllm-base of the base file when withBase is true; otherwise it is stand-alone.
func Profile(s ProfileSpec, withBase bool) string {
	var b strings.Builder
	svc := "vllm-" + s.Name
	fmt.Fprintf(&b, "# %s: %s (%s), written by `vllmctl new`. Check it with `vllmctl check %s`.\n", s.Name, s.Model, s.Size, s.Name)
	fmt.Fprintf(&b, "services:\n  %s:\n", svc)
	if withBase {
		b.WriteString("    extends:\n      file: docker-compose.yml   # relative to the base file's folder, as compose resolves it\n      service: vllm-base\n    profiles: !reset []\n")
	} else {
		fmt.Fprintf(&b, "    image: %s\n    ipc: host\n    volumes:\n      - hf-cache:/root/.cache/huggingface\n", DefaultImage)
	}
	fmt.Fprintf(&b, "    container_name: %s\n", svc)
	b.WriteString("    command:\n")
	arg := func(f string, v any) { fmt.Fprintf(&b, "      - --%s=%v\n", f, v) }
	arg("model", s.Model)
	arg("served-model-name", servedName(s.Model))
	fmt.Fprintf(&b, "      - --api-key=${%s}\n", APIKeyVar(s.Name))
	if len(s.GPUs) > 1 {
		arg("tensor-parallel-size", len(s.GPUs))
	}
	arg("gpu-memory-utilization", fmt.Sprintf("%.2f", s.Utilization))
	arg("max-model-len", s.MaxModelLen)
	if s.Quantization != "" {
		arg("quantization", s.Quantization)
	}
	arg("max-num-seqs", sizeDefaults[s.Size].seqs)
	if s.EnforceEager {
		b.WriteString("      - --enforce-eager\n")
	}
	if s.ToolParser != "" {
		b.WriteString("      - --enable-auto-tool-choice\n")
		arg("tool-call-parser", s.ToolParser)
	}
	if s.ReasoningName != "" {
		arg("reasoning-parser", s.ReasoningName)
	}
	fmt.Fprintf(&b, "    ports:\n      - \"${%s:-%d}:8000\"\n", PortVar(s.Name), s.Port)
	ids := make([]string, len(s.GPUs))
	for i, g := range s.GPUs {
		ids[i] = fmt.Sprintf("%q", g)
	}
	fmt.Fprintf(&b, "    deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n              device_ids: [%s]\n              capabilities: [gpu]\n", strings.Join(ids, ", "))
	fmt.Fprintf(&b, "    x-vllmctl:\n      size: %s\n      aliases: [%s]\n      description: %s served as %s.\n", s.Size, s.Name, s.Model, servedName(s.Model))
	if !withBase {
		b.WriteString("\nvolumes:\n  hf-cache:\n")
	}
	return b.String()
}

func servedName(model string) string {
	n := model[strings.LastIndex(model, "/")+1:]
	return strings.ToLower(n)
}

// SortFiles orders files by path.
func SortFiles(fs []File) { sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path }) }

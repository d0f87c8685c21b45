package project

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm"
	"go.yaml.in/yaml/v4"
)

// ConfigFile is the name of the optional project settings file at the root.
const ConfigFile = "vllmctl.yaml"

// Config holds the project settings from vllmctl.yaml. Every field has a default
// (see Defaults); the file only overrides.
type Config struct {
	// ProjectName is the compose project name used for deploys. Default: the root folder's name.
	ProjectName string `yaml:"project_name" json:"project_name"`
	// BaseFile is the shared compose file merged under every profile. Default: configs/docker/docker-compose.yml.
	BaseFile string `yaml:"base_file" json:"base_file"`
	// ProfilesDir holds one compose overlay per profile. Default: configs/docker/profiles.
	ProfilesDir string `yaml:"profiles_dir" json:"profiles_dir"`
	// Profiles lists the profile files, or globs of them ("**" crosses folders),
	// relative to the root, instead of profiles_dir: for folders that keep one
	// stand-alone compose file per model and variant. Each profile is named
	// from its path. Default: none (profiles_dir).
	Profiles []string `yaml:"profiles" json:"profiles,omitempty"`
	// EnvFile is read for interpolation, relative to the root. Default: .env.
	EnvFile string `yaml:"env_file" json:"env_file"`
	// ArchiveDir receives retired configs. Default: archived.
	ArchiveDir string `yaml:"archive_dir" json:"archive_dir"`
	// ArchiveRetention is how long archives are kept. Default: 6mo.
	ArchiveRetention string `yaml:"archive_retention" json:"archive_retention"`
	// StateDir holds deploy state and history (gitignored). Default: .vllmctl.
	StateDir string `yaml:"state_dir" json:"state_dir"`
	// VLLMVersion is the vLLM release of engines whose image tag, Dockerfile and
	// x-vllmctl.vllm_version do not tell it. Default: none (unknown: flags are
	// judged against the newest release vllmctl knows, and only warned about).
	VLLMVersion string `yaml:"vllm_version" json:"vllm_version"`
	// Together lists groups of profiles that run at the same time: port, GPU and
	// container-name clashes between them are errors. Between other profiles they
	// are warnings (profiles often run one at a time), and none at all between
	// alternatives (a shared container_name, x-vllmctl.group or .alternatives).
	Together [][]string `yaml:"together" json:"together,omitempty"`
	// GPUs declares the inventory for offline planning. Default: none (discover with nvidia-smi).
	GPUs []GPUDecl `yaml:"gpus" json:"gpus,omitempty"`
}

// GPUDecl declares GPUs of one kind for offline planning.
type GPUDecl struct {
	Name   string `yaml:"name" json:"name"`                         // e.g. "RTX 4090"
	Memory string `yaml:"memory,omitempty" json:"memory,omitempty"` // e.g. "24GiB"; default from the card table
	Count  int    `yaml:"count,omitempty" json:"count,omitempty"`   // default 1
	// Held is memory each of these GPUs has in use by something other than
	// vLLM (a desktop, another service), e.g. "2.5GiB": the plan subtracts it
	// from the free memory. Declare a GPU that drives a desktop on its own line.
	Held string `yaml:"held,omitempty" json:"held,omitempty"`
	// HeldBy names what holds it, for the plan's messages (e.g. "desktop").
	HeldBy string `yaml:"held_by,omitempty" json:"held_by,omitempty"`
}

// Defaults returns the settings used when vllmctl.yaml is absent or silent.
func Defaults(rootName string) Config {
	return Config{
		ProjectName:      sanitizeName(rootName),
		BaseFile:         "configs/docker/docker-compose.yml",
		ProfilesDir:      "configs/docker/profiles",
		EnvFile:          ".env",
		ArchiveDir:       "archived",
		ArchiveRetention: "6mo",
		StateDir:         ".vllmctl",
	}
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-_")
	if out == "" {
		return "vllm"
	}
	return out
}

// parseConfig decodes vllmctl.yaml strictly over the defaults. Unknown keys and
// wrong types become located diagnostics.
func parseConfig(rel string, data []byte, cfg *Config) []Diagnostic {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	var diags []Diagnostic
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d := Diagnostic{Pos: Pos{File: rel, Line: 1}, Severity: Error, Code: "yaml-syntax", Message: "YAML syntax: " + cleanYAMLError(err.Error())}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &d.Line)
		}
		return []Diagnostic{d}
	}
	if len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	known := yamlKeys(reflect.TypeOf(Config{}))
	if top.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(top.Content); i += 2 {
			k := top.Content[i]
			if !slices.Contains(known, k.Value) {
				d := Diagnostic{Pos: Pos{File: rel, Line: k.Line, Col: k.Column}, Severity: Error, Code: "unknown-setting",
					Message: fmt.Sprintf("unknown setting %q", k.Value), Hint: "known settings: " + strings.Join(known, ", ")}
				if s := suggest(k.Value, known); s != "" {
					d.Hint = "did you mean " + s + "?"
				}
				diags = append(diags, d)
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) && len(diags) == 0 {
		d := Diagnostic{Pos: Pos{File: rel, Line: 1}, Severity: Error, Code: "bad-setting", Message: cleanYAMLError(err.Error())}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &d.Line)
		}
		diags = append(diags, d)
	}
	return diags
}

func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}

// suggest returns the closest candidate within a small edit distance.
func suggest(s string, cands []string) string { return vllm.Suggest(s, cands) }

// RunTogether reports whether vllmctl.yaml declares two profiles to run at the same time.
func (c Config) RunTogether(a, b string) bool {
	for _, g := range c.Together {
		if slices.Contains(g, a) && slices.Contains(g, b) {
			return true
		}
	}
	return false
}

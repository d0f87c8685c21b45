package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"go.yaml.in/yaml/v4"
)

type shownArg struct {
	Flag   string   `json:"flag"`
	Values []string `json:"values,omitempty"`
	At     string   `json:"at"`             // file:line:col where it is written
	From   []string `json:"from,omitempty"` // .env keys, environment or defaults that gave its value
	Known  bool     `json:"known"`
}

// shownValue is one effective engine setting and where it comes from.
type shownValue struct {
	Flag   string `json:"flag"`
	Value  string `json:"value"`
	Source string `json:"source"` // written, default (vLLM's, not written), unknown (cannot be known here)
}

type shownService struct {
	Profile  string         `json:"profile"`
	Files    []string       `json:"files"`
	Service  string         `json:"service"`
	Engine   bool           `json:"engine"`
	Reason   string         `json:"engine_reason,omitempty"`
	Version  string         `json:"vllm_version,omitempty"`
	Script   string         `json:"script,omitempty"` // where the shell script that starts the engine is
	Settings []shownValue   `json:"settings,omitempty"`
	Image    string         `json:"image"`
	Model    string         `json:"model,omitempty"`
	Served   []string       `json:"served_names,omitempty"`
	GPUs     project.GPUs   `json:"gpus"`
	Ports    []project.Port `json:"ports,omitempty"`
	Args     []shownArg     `json:"args,omitempty"`
	Compose  map[string]any `json:"compose"`
}

func newShowCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "show PROFILE",
		Short: "Show a profile's effective service and where each vLLM argument comes from",
		Long: `Show prints the service of a profile after merging the base file and the
overlay and interpolating the root .env, with secrets masked as ***.
Each vLLM argument is listed with the file:line that writes it and the .env key,
environment variable or default that gave its value.`,
		Example: "  vllmctl show medium\n  vllmctl show medium -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{Only: args})
			if err != nil {
				return err
			}
			pr, err := p.Profile(args[0])
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if pr.Compose == nil && !pr.Relaxed {
				return &exitError{code: ExitFindings, err: fmt.Errorf("profile %q does not load; run 'vllmctl check %s' for why", pr.Name, pr.Name)}
			}
			red := redactorFor(p)
			var out []shownService
			for _, s := range pr.Services {
				out = append(out, describe(p, pr, s, red))
			}
			return e.render(out, func(w io.Writer) error {
				for _, s := range out {
					printService(e, s)
				}
				return nil
			})
		},
	}
	addOutput(c, e)
	return c
}

func describe(p *project.Project, pr *project.Profile, s *project.Service, red *redact.Redactor) shownService {
	ss := shownService{Profile: pr.Name, Service: s.Name, Engine: s.Engine, Reason: string(s.EngineReason),
		Image: s.Config.Image, Model: s.Args.Model, Served: s.Args.ServedNames(), GPUs: s.GPUs, Ports: s.Ports}
	for _, src := range pr.Sources {
		ss.Files = append(ss.Files, src.Path)
	}
	if s.Engine {
		ss.Version = s.Version.String()
		ss.Model, _ = s.Args.Effective("model")
		for _, f := range vllm.Summary {
			v, src := s.Args.Effective(f)
			ss.Settings = append(ss.Settings, shownValue{Flag: "--" + f, Value: red.String(v), Source: src.String()})
		}
		if sc := s.Script; sc != nil {
			ss.Script = "services." + s.Name + "." + sc.Key
			if sc.File != "" {
				ss.Script = p.Rel(sc.File)
			}
		}
	}
	for _, a := range s.Args.List {
		pos := pr.ArgPos(s, a.Index, strings.SplitN(s.Argv[a.Index], "=", 2)[0])
		sa := shownArg{Flag: "--" + a.Name, At: pos.String(), Known: a.Known, From: origins(p, pr, pos)}
		for _, v := range a.Values {
			if project.IsSecretName(a.Name) {
				v = redact.Mask
			}
			sa.Values = append(sa.Values, red.String(vllm.ShowUnknown(v)))
		}
		ss.Args = append(ss.Args, sa)
	}
	b, _ := yaml.Marshal(s.Config)
	var m map[string]any
	_ = yaml.Unmarshal(b, &m)
	m, _ = maskTree(m, red).(map[string]any) // after parsing: "***" is a YAML alias in text
	maskSecretEnv(m)
	ss.Compose = m
	return ss
}

// origins names where the interpolated parts of a line come from.
func origins(p *project.Project, pr *project.Profile, pos project.Pos) []string {
	var out []string
	for _, src := range pr.Sources {
		if src.Path != pos.File {
			continue
		}
		for _, r := range src.Refs {
			if r.Pos.Line != pos.Line {
				continue
			}
			_, inEnv := p.Environ()[r.Name]
			switch {
			case inEnv:
				out = append(out, "environment "+r.Name)
			case p.Env != nil && hasKey(p.Env.Values, r.Name):
				out = append(out, fmt.Sprintf("%s:%d %s", p.Env.Path, p.Env.Lines[r.Name], r.Name))
			case r.HasDefault():
				out = append(out, fmt.Sprintf("default of ${%s}", r.Name))
			default:
				out = append(out, fmt.Sprintf("${%s} unset", r.Name))
			}
		}
	}
	return out
}

// maskTree masks secret values in every string of a decoded YAML tree and
// turns unknown-value markers back into their source form.
func maskTree(v any, red *redact.Redactor) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = maskTree(x, red)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = maskTree(x, red)
		}
		return t
	case string:
		return red.String(vllm.ShowUnknown(t))
	}
	return v
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func maskSecretEnv(m map[string]any) {
	env, ok := m["environment"].(map[string]any)
	if !ok {
		return
	}
	for k, v := range env {
		if project.IsSecretName(k) && v != nil && v != "" {
			env[k] = redact.Mask
		}
	}
}

func printService(e *env, s shownService) {
	w := e.stdout
	fmt.Fprintf(w, "profile %s (%s)\n", s.Profile, strings.Join(s.Files, " + "))
	kind := "service"
	if s.Engine {
		kind = "vLLM engine (recognised by " + s.Reason + ")"
	}
	fmt.Fprintf(w, "service %s: %s\n", s.Service, kind)
	fmt.Fprintf(w, "  image: %s\n", s.Image)
	if s.Engine {
		fmt.Fprintf(w, "  vLLM release: %s\n", s.Version)
		if s.Script != "" {
			fmt.Fprintf(w, "  started by the shell script in %s (flags read from its vLLM command)\n", s.Script)
		}
		fmt.Fprintln(w, "  settings (written: in the files; default: vLLM's, not written; unknown: cannot be known here):")
		t := newTable(w, "    SETTING", "VALUE", "SOURCE")
		for _, v := range s.Settings {
			t.row("    "+v.Flag, v.Value, v.Source)
		}
		_ = t.flush()
	}
	fmt.Fprintf(w, "  gpus: %s", s.GPUs)
	if s.GPUs.Source != "" {
		fmt.Fprintf(w, " (from %s)", s.GPUs.Source)
	}
	fmt.Fprintln(w)
	for _, p := range s.Ports {
		if p.Published <= 0 { // never a 0 shown as the host port
			fmt.Fprintf(w, "  port: ? -> %d (the host port is empty, not written or a variable no .env sets: Docker picks one at each start)\n", p.Target)
			continue
		}
		fmt.Fprintf(w, "  port: %d -> %d\n", p.Published, p.Target)
	}
	if len(s.Args) > 0 {
		fmt.Fprintln(w, "  engine arguments:")
		t := newTable(w, "    FLAG", "VALUE", "WRITTEN AT", "VALUE FROM")
		for _, a := range s.Args {
			flag := a.Flag
			if !a.Known {
				flag += " (unknown)"
			}
			t.row("    "+flag, strings.Join(a.Values, " "), a.At, strings.Join(a.From, "; "))
		}
		_ = t.flush()
	}
	fmt.Fprintln(w, "  effective compose service:")
	b, _ := yaml.Marshal(s.Compose)
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", l)
	}
}

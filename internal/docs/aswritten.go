package docs

import (
	"context"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// AsWritten reloads p's profiles so that every variable reads as the files
// write it, whatever .env or the process environment hold: ${VAR:-default}
// and ${VAR-default} give their default, and a variable without a default
// (${VAR}, $VAR, ${VAR:?message}) gives its own reference "${VAR}", so the
// document names the variable instead of an operator's local value or a
// secret. ${VAR:+text} reads as unset. A profile that no longer loads that
// way (a "${VAR}" where compose wants a number) is loaded again with those
// variables empty where compose wants a number and unknown elsewhere, so
// that no value is shown as the profile's that the files do not give
// (an engine argument "${TP}" reads as unknown, never as 0). The document is rendered from the result, so it
// is the same on every machine.
func AsWritten(ctx context.Context, p *project.Project) (*project.Project, error) {
	out := *p
	out.Profiles = make([]*project.Profile, 0, len(p.Profiles))
	for _, pr := range p.Profiles {
		env, named := writtenEnv(pr.Sources)
		q, err := project.Load(ctx, project.Options{Root: p.Root, Environ: env, Only: []string{pr.Name}})
		if err != nil {
			return nil, err
		}
		got := q.Profiles[0]
		if got.Compose == nil && len(named) > 0 {
			unknownNamed(env, named, pr.Sources)
			if q, err = project.Load(ctx, project.Options{Root: p.Root, Environ: env, Only: []string{pr.Name}}); err != nil {
				return nil, err
			}
			got = q.Profiles[0]
		}
		out.Profiles = append(out.Profiles, got)
	}
	return &out, nil
}

// writtenEnv gives each variable referenced by the sources its value as
// written (a written default wins over a bare reference elsewhere); named
// lists the variables given their own reference.
func writtenEnv(srcs []*project.Source) (env map[string]string, named []string) {
	env = map[string]string{}
	for _, s := range srcs {
		for _, r := range s.Refs {
			if _, done := env[r.Name]; !done && r.HasDefault() && !strings.Contains(r.Arg, "$") {
				env[r.Name] = r.Arg
			}
		}
	}
	for _, s := range srcs {
		for _, r := range s.Refs {
			if _, done := env[r.Name]; done {
				continue
			}
			if r.Op == "" || r.Required() {
				env[r.Name] = "${" + r.Name + "}"
				named = append(named, r.Name)
			} else {
				env[r.Name] = "" // a nested default then applies; an optional text stays out
			}
		}
	}
	return env, named
}

// unknownNamed gives each variable of named the value it can take in the
// fallback load: empty when any of its references sits in a typed field
// (ports, sizes, counts: an unknown marker would not parse there), else an
// unknown marker, which the engine's arguments report as unknown.
func unknownNamed(env map[string]string, named []string, srcs []*project.Source) {
	typed := map[string]bool{}
	for _, s := range srcs {
		for _, r := range s.Refs {
			typed[r.Name] = typed[r.Name] || r.Typed()
		}
	}
	for _, n := range named {
		env[n] = vllm.UnknownMark("${" + n + "}")
		if typed[n] {
			env[n] = ""
		}
	}
}

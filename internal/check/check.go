// Package check finds the defects of a loaded project before anything is
// deployed: interpolation that comes out empty, vLLM flags that are unknown,
// no-ops or removed, GPU and port clashes, hard-coded secrets, missing caches
// and shared memory, healthchecks too short for the model. It is pure: it reads
// a *project.Project and returns diagnostics.
package check

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
)

// Options select what Run looks at.
type Options struct {
	// Profiles restricts per-profile checks to these names. Default: all.
	Profiles []string
	// Extra are findings computed elsewhere (such as plan verdicts) merged into the result.
	Extra []project.Diagnostic
	// Host is the Docker host bind sources are judged on. Default: unknown
	// (bind sources are then not judged, and check says so).
	Host HostView
}

// HostView is what vllmctl knows of the Docker host (from `docker info`).
type HostView struct {
	Known   bool   // a daemon answered
	OS      string // the daemon's OS type: "linux" or "windows"
	Desktop bool   // Docker Desktop (a VM behind the host: Windows or macOS paths are shared into it)
	Name    string // e.g. "Docker Desktop", "Debian GNU/Linux 12 (bookworm)"
}

// Run checks the project and returns every finding, sorted and deduplicated.
func Run(p *project.Project, opts Options) []project.Diagnostic {
	c := &checker{p: p, host: opts.Host}
	c.add(p.Diags...)
	selected := func(name string) bool { return len(opts.Profiles) == 0 || slices.Contains(opts.Profiles, name) }
	seen := map[*project.Source]bool{}
	for _, pr := range p.Profiles {
		if !selected(pr.Name) {
			continue
		}
		c.add(pr.Diags...)
		for _, s := range pr.Sources {
			if !seen[s] {
				seen[s] = true
				c.source(s)
			}
		}
		c.profile(pr)
	}
	c.crossProfile(selected)
	c.sharedKeys(selected)
	if len(opts.Profiles) == 0 && !p.Standalone {
		c.envUse() // .env use is a property of the whole project
	}
	c.add(opts.Extra...)
	return project.SortDiagnostics(c.out)
}

type checker struct {
	p    *project.Project
	host HostView
	out  []project.Diagnostic
	// hostSkipped: bind sources were not judged for want of a Docker host (said once).
	hostSkipped bool
}

func (c *checker) add(ds ...project.Diagnostic) { c.out = append(c.out, ds...) }

func (c *checker) diag(pos project.Pos, sev project.Severity, code, path, msg, hint string) {
	c.add(project.Diagnostic{Pos: pos, Severity: sev, Code: code, Path: path, Message: msg, Hint: hint})
}

// source checks the variable references of one file.
func (c *checker) source(s *project.Source) {
	for _, r := range s.Refs {
		if r.Stray && !balancedWithout(r.Value, s.Refs, r.Path) {
			c.diag(r.Pos, project.Error, "stray-brace", r.Path,
				fmt.Sprintf("a stray '}' follows ${%s...}: it ends up in the value", r.Name),
				"remove the extra '}'")
		}
	}
	for _, r := range s.Refs {
		if r.Offset != 0 && isNested(r, s.Refs) {
			continue // reported through its parent
		}
		for _, u := range c.unset(r.Ref) {
			msg := fmt.Sprintf("${%s} is not set and has no default: it interpolates to an empty string", u)
			hint := fmt.Sprintf("add %s=... to %s", u, c.envName())
			if c.p.Env == nil {
				hint = fmt.Sprintf("create %s at the project root with %s=... (Compose would look beside the compose file; vllmctl passes --env-file)", c.envName(), u)
			}
			sev := project.Error
			if c.p.Env == nil && c.p.EnvExample == nil && !envBeside(s) {
				// No .env and no template here: the value comes from wherever the
				// operator runs compose, which check cannot see.
				sev = project.Warning
				msg = fmt.Sprintf("${%s} is not set here (the project has no .env or .env.example): unless the environment compose runs in sets it, it interpolates to an empty string", u)
			}
			if r.Offset == 0 && u == r.Name && volumeItem.MatchString(r.Path) && strings.HasPrefix(r.Value[min(r.End, len(r.Value)):], ":") {
				// "${HF_CACHE}:/root/.cache/huggingface" with nothing set.
				msg += "; as the volume's source, compose then refuses the file (`invalid spec: empty section between colons`)"
			}
			if r.Required() && u == r.Name {
				sev = project.Error
				msg = fmt.Sprintf("${%s} is required (%s) and not set: compose refuses to start", u, strings.TrimSpace(r.Arg))
			} else if nestedRequired(r.Arg, u) {
				// ${A:-${B:?message}}: with A unset, compose needs B.
				sev = project.Error
				msg = fmt.Sprintf("${%s} is required where %s is read (${%s:?…} in ${%s}'s default) and not set: compose refuses to start", u, r.Name, u, r.Name)
			}
			c.diag(r.Pos, sev, "unset-variable", r.Path, msg, hint)
		}
	}
}

// volumeItem matches a short-form volume entry of a service.
var volumeItem = regexp.MustCompile(`^services\.[^.]+\.volumes\.\d+$`)

// nestedRequired reports whether a default holds ${name:?…} or ${name?…}.
func nestedRequired(def, name string) bool {
	return strings.Contains(def, "${"+name+":?") || strings.Contains(def, "${"+name+"?")
}

// envBeside reports whether a .env sits beside the compose file (where
// Compose itself would read it).
func envBeside(s *project.Source) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(s.Abs), ".env"))
	return err == nil
}

// balancedWithout reports whether the braces of a scalar balance once its
// variable references are taken out: a '}' after ${X} then closes a JSON object
// ('{"n":${N:-5}}'), not a typo.
func balancedWithout(value string, refs []project.LocRef, path string) bool {
	var spans [][2]int
	for _, r := range refs {
		if r.Path == path && r.Value == value && r.End <= len(value) {
			spans = append(spans, [2]int{r.Offset, r.End})
		}
	}
	depth := 0
	for i := 0; i < len(value); i++ {
		in := false
		for _, sp := range spans {
			if i >= sp[0] && i < sp[1] {
				in = true
				break
			}
		}
		if in {
			continue
		}
		switch value[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// isNested reports whether r sits inside the argument of another reference of the same scalar.
func isNested(r project.LocRef, all []project.LocRef) bool {
	for _, o := range all {
		if o.Path == r.Path && o.Value == r.Value && o.Offset < r.Offset && r.End <= o.End && (o.Offset != r.Offset) {
			return true
		}
	}
	return false
}

// unset returns the variables whose absence empties this reference.
func (c *checker) unset(r project.Ref) []string {
	v, ok := c.p.Lookup(r.Name)
	switch r.Op {
	case ":-", "-":
		if ok && (r.Op == "-" || v != "") {
			return nil
		}
		var out []string
		for _, n := range r.Nested {
			out = append(out, c.unset(n)...)
		}
		return out
	case ":+", "+":
		return nil
	case ":?":
		if !ok || v == "" {
			return []string{r.Name}
		}
	default:
		if !ok {
			return []string{r.Name}
		}
	}
	return nil
}

func (c *checker) envName() string { return c.p.Config.EnvFile }

// envUse reports .env keys that nothing reads and .env.example keys missing from .env.
func (c *checker) envUse() {
	read := map[string]bool{}
	for _, pr := range c.p.Profiles {
		for _, s := range pr.Sources {
			for _, r := range s.Refs {
				read[r.Name] = true
			}
		}
		for _, svc := range pr.Services {
			for _, f := range svc.Config.EnvFiles {
				_ = f // env_file entries are read by compose inside the container, not interpolated
			}
		}
	}
	complete := true // every file parsed, so every reference is known
	for _, pr := range c.p.Profiles {
		for _, s := range pr.Sources {
			complete = complete && s.Root != nil
		}
	}
	if c.p.Env != nil && len(c.p.Profiles) > 0 && complete {
		for _, k := range c.p.Env.Keys() {
			if !read[k] && !containerRead(k) {
				c.diag(project.Pos{File: c.p.Env.Path, Line: c.p.Env.Lines[k]}, project.Warning, "env-unused", "",
					fmt.Sprintf("%s is set but no compose file reads it", k),
					"remove it, or reference it as ${"+k+"} where it belongs")
			}
		}
	}
	if c.p.Env != nil && c.p.EnvExample != nil {
		for _, k := range c.p.EnvExample.Keys() {
			if _, ok := c.p.Env.Values[k]; !ok && read[k] {
				c.diag(project.Pos{File: c.p.EnvExample.Path, Line: c.p.EnvExample.Lines[k]}, project.Warning, "env-missing", "",
					fmt.Sprintf("%s is in .env.example and read by the profiles, but missing from %s", k, c.envName()),
					"copy it into "+c.envName()+" with a real value")
			}
		}
	}
	// Keys read with a default but absent from .env: the default silently applies.
	if c.p.Env != nil {
		reported := map[string]bool{}
		for _, pr := range c.p.Profiles {
			for _, s := range pr.Sources {
				for _, r := range s.Refs {
					if !r.HasDefault() || reported[r.Name] {
						continue
					}
					if _, ok := c.p.Lookup(r.Name); !ok {
						reported[r.Name] = true
						c.diag(r.Pos, project.Info, "env-default", r.Path,
							fmt.Sprintf("%s is not in %s: the default %q applies", r.Name, c.envName(), redactDefault(r.Name, r.Arg)),
							"add it to "+c.envName()+" to make the value explicit")
					}
				}
			}
		}
	}
}

// containerRead lists variables consumed by tools rather than interpolation.
func containerRead(k string) bool {
	return k == "COMPOSE_PROJECT_NAME" || k == "COMPOSE_FILE" || k == "COMPOSE_PROFILES" || strings.HasPrefix(k, "VLLMCTL_")
}

func redactDefault(name, def string) string {
	if project.IsSecretName(name) {
		return "***"
	}
	return def
}

// sharedKeys reports a variable that several profiles read with different
// defaults in their engine's command: one value in .env silently replaces the
// model, served name or parser of all but one of them.
func (c *checker) sharedKeys(selected func(string) bool) {
	type use struct {
		pr  *project.Profile
		ref project.LocRef
	}
	uses := map[string][]use{}
	for _, pr := range c.p.Profiles {
		for _, s := range pr.Sources {
			for _, r := range s.Refs {
				if r.HasDefault() && strings.Contains(r.Path, ".command") && (r.Op == ":-" || r.Op == "-") {
					uses[r.Name] = append(uses[r.Name], use{pr, r})
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(uses)) {
		list := uses[name]
		defaults := map[string][]string{}
		for _, u := range list {
			defaults[u.ref.Arg] = append(defaults[u.ref.Arg], u.pr.Name)
		}
		if len(defaults) < 2 {
			continue
		}
		val, set := c.p.Lookup(name)
		for _, u := range list {
			if !selected(u.pr.Name) {
				continue
			}
			var others []string
			for _, o := range list {
				if o.pr != u.pr && o.ref.Arg != u.ref.Arg {
					others = append(others, fmt.Sprintf("%s (default %q)", o.pr.Name, redactDefault(name, o.ref.Arg)))
				}
			}
			slices.Sort(others)
			others = slices.Compact(others)
			msg := fmt.Sprintf("${%s} is read here with the default %q and by %s: one value in %s replaces them all", name, redactDefault(name, u.ref.Arg), strings.Join(others, ", "), c.envName())
			if set && val != u.ref.Arg {
				msg = fmt.Sprintf("${%s} is set in %s to %q, which replaces this profile's default %q (also read by %s)", name, c.envName(), redactDefault(name, val), redactDefault(name, u.ref.Arg), strings.Join(others, ", "))
			}
			c.diag(u.ref.Pos, project.Warning, "shared-key", u.ref.Path, msg,
				fmt.Sprintf("give each profile its own variable (e.g. %s_%s)", name, strings.ToUpper(strings.ReplaceAll(u.pr.Name, "-", "_"))))
		}
	}
}

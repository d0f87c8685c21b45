package project

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	goruntime "runtime"

	"github.com/sirupsen/logrus"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"go.yaml.in/yaml/v4"
)

// Options tell Load where the project is and what to read.
type Options struct {
	// Root is the project folder. Default: the current directory.
	Root string
	// Environ is the process environment, which overrides .env as in Compose.
	// Default: none (only .env and defaults interpolate).
	Environ map[string]string
	// Files, when set, loads these stand-alone compose files as profiles (named
	// after the file) instead of the profiles folder; the root .env still applies.
	Files []string
	// Only restricts loading to the named profiles. Default: all.
	Only []string
	// Images, when set, reads the local images of engines whose files name
	// no release (ReadImages). Default: none (those releases stay unknown, as
	// on a machine without the images).
	Images ImageReader
}

// Project is a loaded vllmctl project.
type Project struct {
	Root       string       // absolute
	Config     Config       // settings after defaults and vllmctl.yaml
	Env        *EnvFile     // the root .env; nil when absent
	EnvExample *EnvFile     // .env.example; nil when absent
	Base       *Source      // the base compose file; nil when absent or in --file mode
	Profiles   []*Profile   // sorted by name
	Diags      []Diagnostic // project-level findings (settings, .env, base file)
	Standalone bool         // loaded from --file compose files rather than the profiles folder
	environ    map[string]string
	images     ImageReader       // Options.Images
	names      map[string]string // profile file (relative) -> name, for profiles: globs
	// overrides maps a default compose file (relative) to the override file
	// docker compose merges over it.
	overrides map[string]string
	// composeProfiles are the compose profiles the deploy model activates:
	// COMPOSE_PROFILES of the environment or .env, as docker compose reads it.
	composeProfiles []string
}

// ComposeProfiles are the compose profiles active in each profile's deploy
// model (Profile.Compose): COMPOSE_PROFILES from the process environment or
// .env, as docker compose reads it ("up --compose-profile" sets it).
func (p *Project) ComposeProfiles() []string { return p.composeProfiles }

func splitProfiles(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Profile is one deployable unit: the base file merged with one overlay.
type Profile struct {
	Name        string
	File        string         // the overlay, relative to the root
	Sources     []*Source      // base (when any) then overlay, in merge order
	Compose     *types.Project // merged and interpolated by compose-go; nil when it does not load
	Services    []*Service     // enabled services of the merged model, sorted by name
	Diags       []Diagnostic   // findings while loading
	vllmVersion string         // the project's vllm_version setting
	root        string         // the project root, for messages
	lookup      func(string) (string, bool)
	// Relaxed: compose refuses the profile as it stands (see Diags); Services
	// were read with its checks relaxed, and Compose is nil.
	Relaxed bool
}

// Lookup resolves a variable as Compose does for this project: the process
// environment first, then the root .env.
func (p *Project) Lookup(name string) (string, bool) {
	if v, ok := p.environ[name]; ok {
		return v, true
	}
	if p.Env != nil {
		if v, ok := p.Env.Values[name]; ok {
			return v, true
		}
	}
	return "", false
}

// Profile returns a profile by name.
func (p *Project) Profile(name string) (*Profile, error) {
	for _, pr := range p.Profiles {
		if pr.Name == name {
			return pr, nil
		}
	}
	names := make([]string, 0, len(p.Profiles))
	for _, pr := range p.Profiles {
		names = append(names, pr.Name)
	}
	return nil, notFound(name, names)
}

func notFound(name string, names []string) error {
	hint := "run `vllmctl profiles` to list them"
	if s := suggest(name, names); s != "" {
		hint = "did you mean " + s + "?"
	}
	if len(names) == 0 {
		return fmt.Errorf("profile %q: %w (the project has no profiles; %s)", name, ErrNotFound, "create one with `vllmctl new`")
	}
	return fmt.Errorf("profile %q: %w (known: %s; %s)", name, ErrNotFound, strings.Join(names, ", "), hint)
}

// Rel turns an absolute path into one relative to the root, '/'-separated.
func (p *Project) Rel(abs string) string {
	if r, err := filepath.Rel(p.Root, abs); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(abs)
}

// Load reads the project at opts.Root. It returns an error only when the root
// cannot be read or a requested file or profile is missing; every defect of
// the files themselves is a Diagnostic.
func Load(ctx context.Context, opts Options) (*Project, error) {
	quietCompose()
	root := opts.Root
	if root == "" {
		root = "."
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("project root %q: %w", root, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("project root %q: %w: not a folder (pass --root DIR)", root, ErrNotFound)
	}
	p := &Project{Root: abs, Config: Defaults(filepath.Base(abs)), environ: opts.Environ}
	if data, err := os.ReadFile(filepath.Join(abs, ConfigFile)); err == nil {
		p.Diags = append(p.Diags, parseConfig(ConfigFile, data, &p.Config)...)
	}
	p.loadEnv()
	p.composeProfiles = splitProfiles(p.environment()["COMPOSE_PROFILES"])

	var overlays []string
	if len(opts.Files) > 0 {
		p.Standalone = true
		for _, f := range opts.Files {
			fa, err := filepath.Abs(f)
			if err != nil {
				return nil, err
			}
			if _, err := os.Stat(fa); err != nil {
				return nil, fmt.Errorf("compose file %q: %w", f, ErrNotFound)
			}
			overlays = append(overlays, fa)
		}
	} else if len(p.Config.Profiles) > 0 {
		files, err := GlobFiles(abs, p.Config.Profiles)
		if err != nil {
			return nil, fmt.Errorf("profiles in %s: %w", ConfigFile, err)
		}
		if len(files) == 0 {
			p.Diags = append(p.Diags, Diagnostic{Pos: Pos{File: ConfigFile, Line: 1}, Severity: Error, Code: "no-profiles",
				Message: fmt.Sprintf("profiles: %s matches no file", strings.Join(p.Config.Profiles, ", ")),
				Hint:    "write the paths relative to the project root; ** matches any number of folders"})
		}
		// docker compose merges compose.override.yaml (or
		// docker-compose.override.yml) over the default file beside it:
		// that pair is one profile, named after the default file.
		files, p.overrides = pairOverrides(abs, files)
		p.names = ProfileNames(files)
		for _, f := range files {
			overlays = append(overlays, p.abs(f))
		}
	} else {
		if data, err := os.ReadFile(p.abs(p.Config.BaseFile)); err == nil {
			p.Base = ParseSource(filepath.ToSlash(p.Config.BaseFile), p.abs(p.Config.BaseFile), data)
			p.Diags = append(p.Diags, p.Base.Diags...)
		}
		entries, err := os.ReadDir(p.abs(p.Config.ProfilesDir))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("profiles folder %q: %w", p.Config.ProfilesDir, err)
		}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
				continue
			}
			overlays = append(overlays, filepath.Join(p.abs(p.Config.ProfilesDir), e.Name()))
		}
	}
	sort.Strings(overlays)
	// Profiles load in parallel (compose-go's load is CPU-bound), in file order.
	var todo []string
	for _, ov := range overlays {
		if len(opts.Only) == 0 || slices.Contains(opts.Only, p.profileName(ov)) {
			todo = append(todo, ov)
		}
	}
	loaded := make([]*Profile, len(todo))
	errs := make([]error, len(todo))
	sem := make(chan struct{}, max(1, goruntime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, ov := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			loaded[i], errs[i] = p.loadProfile(ctx, p.profileName(ov), ov)
		}()
	}
	wg.Wait()
	for i := range todo {
		if errs[i] != nil {
			return nil, errs[i]
		}
		p.Profiles = append(p.Profiles, loaded[i])
	}
	for _, want := range opts.Only {
		if _, err := p.Profile(want); err != nil {
			var all []string
			for _, ov := range overlays {
				all = append(all, p.profileName(ov))
			}
			return nil, notFound(want, all)
		}
	}
	if opts.Images != nil {
		p.images = opts.Images
		p.ReadImages(ctx, opts.Images)
	}
	return p, nil
}

// Images is the image reader the project was loaded with (nil: none), for
// loads derived from it.
func (p *Project) Images() ImageReader { return p.images }

// profileName names the profile of a file: from its path under profiles:, else
// the file name without its extension.
func (p *Project) profileName(file string) string {
	if n, ok := p.names[p.Rel(file)]; ok {
		return n
	}
	return strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
}

func (p *Project) abs(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.Root, filepath.FromSlash(rel))
}

func (p *Project) loadEnv() {
	lookup := func(k string) (string, bool) { v, ok := p.environ[k]; return v, ok }
	if data, err := os.ReadFile(p.abs(p.Config.EnvFile)); err == nil {
		env, diags := ParseEnv(filepath.ToSlash(p.Config.EnvFile), data, lookup)
		p.Env = env
		p.Diags = append(p.Diags, diags...)
	}
	if data, err := os.ReadFile(p.abs(".env.example")); err == nil {
		env, diags := ParseEnv(".env.example", data, lookup)
		p.EnvExample = env
		p.Diags = append(p.Diags, diags...)
	}
}

func (p *Project) loadProfile(ctx context.Context, name, overlay string) (*Profile, error) {
	data, err := os.ReadFile(overlay)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", name, err)
	}
	pr := &Profile{Name: name, File: p.Rel(overlay), vllmVersion: p.Config.VLLMVersion, root: p.Root, lookup: p.Lookup}
	if p.Base != nil {
		pr.Sources = append(pr.Sources, p.Base)
	}
	ov := ParseSource(pr.File, overlay, data)
	pr.Sources = append(pr.Sources, ov)
	pr.Diags = append(pr.Diags, ov.Diags...)
	if o, ok := p.overrides[pr.File]; ok {
		od, err := os.ReadFile(p.abs(o))
		if err != nil {
			return nil, fmt.Errorf("profile %q: %w", name, err)
		}
		src := ParseSource(o, p.abs(o), od)
		pr.Sources = append(pr.Sources, src)
		pr.Diags = append(pr.Diags, src.Diags...)
	}
	for _, s := range pr.Sources {
		if s.Root == nil {
			return pr, nil // a syntax error is already reported; compose cannot load it
		}
	}
	cp, err := p.compose(ctx, pr, loadStrict)
	if err != nil {
		if !pr.reported(err) {
			pr.Diags = append(pr.Diags, pr.composeError(err))
		}
		// Compose refuses the file as it stands here (often for want of the
		// operator's .env or a companion file that is not beside it): read it
		// anyway, relaxed, so that its engines are still seen.
		mode := loadRelaxed | loadAllProfiles | loadUnsetMarked | loadNoComments
		for range 4 {
			rc, rerr := p.compose(ctx, pr, mode)
			if rerr == nil {
				pr.Relaxed = true
				pr.addServices(rc, nil)
				return pr, nil
			}
			next := mode | relaxFor(rerr)
			if next == mode {
				next = mode | loadAllUnknown // last resort: every unset variable unknown, defaults too
			}
			if next == mode {
				break
			}
			mode = next
		}
		return pr, nil
	}
	pr.Compose = cp
	pr.Diags = append(pr.Diags, pr.undefinedRefs(cp)...)
	// The analysis view: services of every compose profile (alternatives kept
	// behind `profiles:`), and unset variables kept as unknown values instead of
	// empty strings. It falls back to the strict model when compose refuses it.
	view := cp
	if pr.hasGated() || p.hasUnset(pr) {
		if ac, err := p.compose(ctx, pr, loadAllProfiles|loadUnsetMarked); err == nil {
			view = ac
		} else if ac, err := p.compose(ctx, pr, loadAllProfiles); err == nil {
			view = ac
		}
	}
	pr.addServices(view, cp)
	return pr, nil
}

// loadMode selects how a profile is read by compose-go.
type loadMode int

const (
	loadStrict      loadMode = 0
	loadAllProfiles loadMode = 1 << iota // every compose profile enabled
	loadUnsetMarked                      // unset variables become vllm.UnknownMark
	loadRelaxed                          // skip validation
	loadNoEnvFiles                       // env_file entries that are missing are ignored
	loadNoInclude                        // include: is not followed
	loadNoExtends                        // extends: is not followed
	loadAllUnknown                       // every unset variable is unknown, even one with a default
	loadNoComments                       // '#' lines of command: strings left out (check reports them)
)

// relaxFor names what to relax for a compose-go error of a relaxed load.
func relaxFor(err error) loadMode {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "env file"):
		return loadNoEnvFiles
	case strings.Contains(msg, "include"), strings.Contains(msg, "no such file") && !strings.Contains(msg, "extends"):
		return loadNoInclude | loadNoExtends
	case strings.Contains(msg, "extends"):
		return loadNoExtends
	}
	return 0
}

func (p *Project) compose(ctx context.Context, pr *Profile, mode loadMode) (cp *types.Project, err error) {
	defer func() {
		// compose-go panics on some malformed files (a null or scalar service
		// or volumes section): that is a file compose cannot load, not a crash.
		if r := recover(); r != nil {
			cp, err = nil, fmt.Errorf("compose cannot read this file's structure (%v): a section that should be a mapping is empty or a single value", r)
		}
	}()
	env := p.environment()
	if mode&loadAllUnknown != 0 {
		// compose-go reads the mapping for nested defaults (${A:-${B}}) too:
		// giving every name referenced a value makes the file loadable.
		for _, src := range pr.Sources {
			for _, r := range src.Refs {
				if _, ok := env[r.Name]; !ok && !r.HasDefault() && !typedField(r.Path) {
					env[r.Name] = vllm.UnknownMark("${" + r.Name + "}")
				}
			}
		}
	}
	details := types.ConfigDetails{WorkingDir: filepath.Dir(pr.Sources[0].Abs), Environment: env}
	for _, s := range pr.Sources {
		data := s.Data
		if mode&loadNoComments != 0 {
			data = s.withoutCommandComments()
		}
		details.ConfigFiles = append(details.ConfigFiles, types.ConfigFile{Filename: s.Abs, Content: data})
	}
	typed := map[string]bool{} // variables of numbers, sizes and ports: a marker would not parse there
	for _, src := range pr.Sources {
		for _, r := range src.Refs {
			if typedField(r.Path) {
				typed[r.Name] = true
			}
		}
	}
	mark := func(sub string, m template.Mapping, cfg *template.Config) (string, error) {
		v, err := markUnset(sub, m, cfg)
		if vllm.HasUnknown(v) && typed[strings.Trim(vllm.ShowUnknown(v), "${}")] {
			return "", nil
		}
		return v, err
	}
	return loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(p.Config.ProjectName, true)
		o.Interpolate.Substitute = func(s string, m template.Mapping) (string, error) {
			if mode&loadUnsetMarked != 0 {
				return template.SubstituteWithOptions(s, m, template.WithoutLogging, template.WithReplacementFunction(mark))
			}
			return template.SubstituteWithOptions(s, m, template.WithoutLogging)
		}
		o.SkipConsistencyCheck = true
		if mode&loadAllProfiles != 0 {
			o.Profiles = []string{"*"}
		} else if len(p.composeProfiles) > 0 {
			o.Profiles = p.composeProfiles
		}
		if mode&loadRelaxed != 0 {
			o.SkipValidation = true
		}
		if mode&loadNoEnvFiles != 0 {
			o.SkipResolveEnvironment = true
		}
		if mode&loadNoInclude != 0 {
			o.SkipInclude = true
		}
		if mode&loadNoExtends != 0 {
			o.SkipExtends = true
		}
	})
}

// Typed reports whether the reference sits in a compose field that holds a
// number, size or duration, where an unknown marker would not parse.
func (r LocRef) Typed() bool { return typedField(r.Path) }

// typedField reports whether a compose path holds a number, size or duration,
// where a marker would not parse.
func typedField(path string) bool {
	for _, k := range []string{".ports", ".shm_size", ".count", ".cpus", ".mem_limit", ".memswap_limit", ".ulimits", ".healthcheck", ".stop_grace_period", ".expose"} {
		if strings.Contains(path, k) {
			return true
		}
	}
	return false
}

// markUnset replaces a variable that is neither set nor defaulted with a marker
// (vllm.UnknownMark), so that the value is known to be unknown.
func markUnset(sub string, m template.Mapping, cfg *template.Config) (string, error) {
	v, applied, err := template.DefaultReplacementAppliedFunc(sub, m, cfg)
	var missing *template.MissingRequiredError
	if errors.As(err, &missing) {
		// ${VAR:?msg}: the strict load reports it; here the value is unknown.
		return vllm.UnknownMark("${" + missing.Variable + "}"), nil
	}
	if err != nil || applied || v != "" {
		return v, err
	}
	name := strings.TrimPrefix(sub, "$")
	name = strings.TrimSuffix(strings.TrimPrefix(name, "{"), "}")
	if i := strings.IndexAny(name, ":-+?"); i >= 0 {
		name = name[:i]
	}
	if name == "" || strings.HasPrefix(name, "$") {
		return v, nil
	}
	if _, ok := m(name); ok {
		return v, nil
	}
	return vllm.UnknownMark("${" + name + "}"), nil
}

// hasGated reports whether a source gates a service behind compose profiles.
// A service gated as a template (extended by others) needs no second reading.
func (pr *Profile) hasGated() bool {
	templates := map[string]bool{}
	for _, src := range pr.Sources {
		for p, node := range src.nodes {
			if strings.HasPrefix(p, "services.") && (strings.HasSuffix(p, ".extends.service") || strings.HasSuffix(p, ".extends")) && node.Kind == yaml.ScalarNode {
				templates[node.Value] = true
			}
		}
	}
	for _, src := range pr.Sources {
		if !bytes.Contains(src.Data, []byte("profiles:")) {
			continue
		}
		for p, node := range src.nodes {
			rest, ok := strings.CutPrefix(p, "services.")
			if !ok {
				continue
			}
			svc, key, _ := strings.Cut(rest, ".")
			if key == "profiles" && node.Kind == yaml.SequenceNode && len(node.Content) > 0 && !templates[svc] {
				return true
			}
		}
	}
	return false
}

// hasUnset reports whether a source refers to a variable that nothing sets.
func (p *Project) hasUnset(pr *Profile) bool {
	for _, s := range pr.Sources {
		for _, r := range s.Refs {
			if _, ok := p.Lookup(r.Name); !ok {
				return true
			}
		}
	}
	return false
}

// addServices builds the services of the analysis view; strict, when not nil,
// is the model compose deploys, which tells the services gated behind a
// compose profile that is not enabled by default.
func (pr *Profile) addServices(view, strict *types.Project) {
	names := make([]string, 0, len(view.Services))
	for n := range view.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	templates := map[string]bool{}
	for _, src := range pr.Sources {
		for p, node := range src.nodes {
			if strings.HasPrefix(p, "services.") && (strings.HasSuffix(p, ".extends.service") || strings.HasSuffix(p, ".extends")) && node.Kind == yaml.ScalarNode {
				templates[node.Value] = true
			}
		}
	}
	for _, n := range names {
		svc := newService(pr, view.Services[n])
		if templates[n] && len(view.Services[n].Profiles) > 0 {
			// A service kept behind a compose profile for others to extend is a
			// template, not an engine of its own.
			svc.Engine, svc.Template = false, true
		}
		if strict != nil {
			if _, ok := strict.Services[n]; !ok {
				svc.Gated = view.Services[n].Profiles
			}
		} else if len(view.Services[n].Profiles) > 0 {
			svc.Gated = view.Services[n].Profiles
		}
		pr.Services = append(pr.Services, svc)
	}
}

func (p *Project) environment() types.Mapping {
	m := types.Mapping{}
	if p.Env != nil {
		for k, v := range p.Env.Values {
			m[k] = v
		}
	}
	for k, v := range p.environ {
		m[k] = v
	}
	return m
}

var composePath = regexp.MustCompile(`\b(services(?:\.[A-Za-z0-9_.-]+)?)`)

// reported tells whether a compose-go error repeats what the sources already
// report with a better position: malformed or required interpolation.
func (pr *Profile) reported(err error) bool {
	msg := err.Error()
	codes := map[string]bool{}
	for _, s := range pr.Sources {
		for _, d := range s.Diags {
			codes[d.Code] = true
		}
		for _, r := range s.Refs {
			if r.Required() {
				codes["required"] = true
			}
		}
	}
	unsetVolume := false
	for _, s := range pr.Sources {
		for _, r := range s.Refs {
			if strings.Contains(r.Path, ".volumes") && !r.HasDefault() && pr.unset(r.Name) {
				unsetVolume = true
			}
		}
	}
	comments := false
	for _, s := range pr.Sources {
		comments = comments || len(s.CommandComments()) > 0
	}
	return (strings.Contains(msg, "invalid interpolation") && codes["bad-interpolation"]) ||
		(strings.Contains(msg, "invalid command line string") && comments) || // check reports each '#' line
		(strings.Contains(msg, "required variable") && codes["required"]) ||
		(strings.Contains(msg, "empty section between colons") && unsetVolume) // the unset variable is the cause, reported where it is written
}

var additionalProps = regexp.MustCompile(`additional properties ((?:'[^']*'(?:, )?)+) not allowed`)

// sortedProperties sorts the names of compose-go's "additional properties …
// not allowed", which it lists in map order: the same file gives the same finding.
func sortedProperties(msg string) string {
	return additionalProps.ReplaceAllStringFunc(msg, func(m string) string {
		names := additionalProps.FindStringSubmatch(m)[1]
		parts := strings.Split(names, ", ")
		sort.Strings(parts)
		return "additional properties " + strings.Join(parts, ", ") + " not allowed"
	})
}

// unset reports whether a variable is set nowhere (environment, .env).
func (pr *Profile) unset(name string) bool {
	if pr.lookup == nil {
		return false
	}
	_, ok := pr.lookup(name)
	return !ok
}

// composeError turns a compose-go load error into a located diagnostic.
func (pr *Profile) composeError(err error) Diagnostic {
	msg := err.Error()
	for _, s := range pr.Sources {
		msg = strings.ReplaceAll(msg, s.Abs, s.Path)
	}
	if pr.root != "" {
		msg = strings.ReplaceAll(msg, pr.root+string(filepath.Separator), "")
	}
	msg = strings.Join(strings.Fields(msg), " ")
	msg = sortedProperties(msg)
	d := Diagnostic{Pos: Pos{File: pr.File, Line: 1}, Severity: Error, Code: "compose-invalid",
		Message: "compose cannot load this profile: " + msg,
		Hint:    "fix the file so that `docker compose config` accepts it"}
	if strings.Contains(msg, "required variable") {
		d.Code = "required-variable"
		d.Hint = "set the variable in the project's .env"
	}
	if m := composePath.FindStringSubmatch(msg); m != nil {
		path := strings.TrimRight(m[1], ".")
		for path != "" {
			if pos, ok := pr.PosOf(path); ok {
				d.Pos = pos
				d.Path = path
				break
			}
			i := strings.LastIndexByte(path, '.')
			if i < 0 {
				break
			}
			path = path[:i]
		}
	}
	return d
}

// PosOf returns where the value at a dotted path is set: the overlay when it
// sets it, else the base file.
func (pr *Profile) PosOf(path string) (Pos, bool) {
	for i := len(pr.Sources) - 1; i >= 0; i-- {
		if pos, ok := pr.Sources[i].PosOf(path); ok {
			return pos, true
		}
	}
	// A value inherited through extends is written under the extended service.
	if rest, ok := strings.CutPrefix(path, "services."); ok {
		svc, sub, _ := strings.Cut(rest, ".")
		for i := len(pr.Sources) - 1; i >= 0; i-- {
			if n, ok := pr.Sources[i].Node("services." + svc + ".extends.service"); ok && n.Value != svc {
				for j := len(pr.Sources) - 1; j >= 0; j-- {
					if pos, ok := pr.Sources[j].PosOf("services." + n.Value + "." + sub); ok && sub != "" {
						return pos, true
					}
				}
			}
		}
	}
	return Pos{}, false
}

// KeyPos is PosOf for the key of the value.
func (pr *Profile) KeyPos(path string) (Pos, bool) {
	for i := len(pr.Sources) - 1; i >= 0; i-- {
		if pos, ok := pr.Sources[i].KeyPos(path); ok {
			return pos, true
		}
	}
	return Pos{}, false
}

// ServicePos returns where a service is declared, falling back to the overlay's first line.
func (pr *Profile) ServicePos(svc string) Pos {
	if pos, ok := pr.KeyPos("services." + svc); ok {
		return pos
	}
	return Pos{File: pr.File, Line: 1}
}

// Service returns a service of the profile by name.
func (pr *Profile) Service(name string) *Service {
	for _, s := range pr.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Engines returns the services recognised as vLLM engines.
// GatedEngines says, when every engine of the profile sits behind a compose
// profile that COMPOSE_PROFILES does not activate (so docker compose up
// starts none), which ones ("large (service large), small (service
// small)") and the first compose profile to choose; ok is false when an
// engine starts or there is none.
func (pr *Profile) GatedEngines() (which, choose string, ok bool) {
	engines := pr.Engines()
	var parts []string
	for _, e := range engines {
		if len(e.Gated) == 0 {
			return "", "", false
		}
		parts = append(parts, fmt.Sprintf("%s (service %s)", strings.Join(e.Gated, " or "), e.Name))
	}
	if len(parts) == 0 {
		return "", "", false
	}
	return strings.Join(parts, ", "), engines[0].Gated[0], true
}

func (pr *Profile) Engines() []*Service {
	var out []*Service
	for _, s := range pr.Services {
		if s.Engine {
			out = append(out, s)
		}
	}
	return out
}

// ArgPos returns where an argv token of a service's entrypoint or command is
// written. text is the token's stable part (a flag name) to search for in block
// scalars; list items are located by index.
func (pr *Profile) ArgPos(svc *Service, argvIndex int, text string) Pos {
	if sc := svc.Script; sc != nil {
		return pr.scriptPos(svc, sc, argvIndex, text)
	}
	key, idx := "command", svc.CommandIndex(argvIndex)
	if idx < 0 {
		key, idx = "entrypoint", argvIndex
	}
	path := "services." + svc.Name + "." + key
	for i := len(pr.Sources) - 1; i >= 0; i-- {
		s := pr.Sources[i]
		n, ok := s.Node(path)
		if !ok {
			continue
		}
		if n.Kind == yaml.SequenceNode {
			if item, ok := s.Node(fmt.Sprintf("%s.%d", path, idx)); ok {
				return Pos{File: s.Path, Line: item.Line, Col: item.Column}
			}
		}
		if p, ok := s.findWord(n.Line, text, 400); ok {
			return p
		}
		return Pos{File: s.Path, Line: n.Line, Col: n.Column}
	}
	return pr.ServicePos(svc.Name)
}

// scriptPos locates an argv token of an engine started by a shell script: the
// script's line in a wrapper file, or inside the compose value that holds it.
func (pr *Profile) scriptPos(svc *Service, sc *Script, argvIndex int, text string) Pos {
	line := 0
	if argvIndex >= 0 && argvIndex < len(sc.Lines) {
		line = sc.Lines[argvIndex]
	}
	if sc.File != "" {
		rel := sc.File
		if len(pr.Sources) > 0 {
			if r, err := filepath.Rel(filepath.Dir(pr.Sources[0].Abs), sc.File); err == nil {
				rel = filepath.ToSlash(filepath.Join(filepath.Dir(pr.Sources[0].Path), r))
			}
		}
		return Pos{File: rel, Line: max(line, 1)}
	}
	path := "services." + svc.Name + "." + sc.Key
	if sc.Item >= 0 {
		if _, ok := pr.PosOf(fmt.Sprintf("%s.%d", path, sc.Item)); ok {
			path = fmt.Sprintf("%s.%d", path, sc.Item)
		}
	}
	for i := len(pr.Sources) - 1; i >= 0; i-- {
		s := pr.Sources[i]
		n, ok := s.Node(path)
		if !ok {
			continue
		}
		from := n.Line
		if (n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle) && line > 0 {
			from = n.Line + line // block content starts on the line after the indicator
			if n.Style == yaml.LiteralStyle {
				if p, ok := s.findWord(from, text, 1); ok {
					return p
				}
				return Pos{File: s.Path, Line: from}
			}
		}
		if p, ok := s.findWord(from, text, 400); ok {
			return p
		}
		return Pos{File: s.Path, Line: n.Line, Col: n.Column}
	}
	return pr.ServicePos(svc.Name)
}

// Environ returns the process environment the project was loaded with.
func (p *Project) Environ() map[string]string { return p.environ }

// quietCompose silences compose-go's logrus warnings ("variable is not set"):
// check reports them as located diagnostics instead. compose-go logs through
// the process-wide logrus logger, so this is the one global vllmctl touches.
var quietCompose = sync.OnceFunc(func() { logrus.SetOutput(io.Discard) })

// defaultStems are the names docker compose reads without -f (compose.yaml,
// docker-compose.yml, .yaml or .yml); each has an override file,
// <stem>.override.yaml or .yml, that it merges over it.
var defaultStems = []string{"compose", "docker-compose"}

// pairOverrides pairs every default compose file (listed) with the override
// file beside it (listed or not), and takes listed overrides whose default
// file exists out of files, as docker compose run in that folder without -f
// merges them. An override with no default file beside it stays a profile
// of its own. files are relative to root, '/'-separated.
func pairOverrides(root string, files []string) (out []string, pairs map[string]string) {
	pairs = map[string]string{}
	keep := map[string]bool{}
	for _, f := range files {
		keep[f] = true
	}
	for _, f := range files {
		if base, ok := OverrideBase(root, f); ok {
			delete(keep, f)
			keep[base] = true
		}
	}
	for f := range keep {
		if o, ok := overrideOf(root, f); ok {
			pairs[f] = o
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out, pairs
}

// overrideOf is the override file docker compose merges over rel, a default
// compose file, when one is beside it.
func overrideOf(root, rel string) (string, bool) {
	dir, name := path.Split(rel)
	stem, ext := strings.TrimSuffix(name, path.Ext(name)), path.Ext(name)
	if !slices.Contains(defaultStems, stem) || (ext != ".yaml" && ext != ".yml") {
		return "", false
	}
	for _, e := range []string{".yaml", ".yml"} {
		o := dir + stem + ".override" + e
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(o))); err == nil {
			return o, true
		}
	}
	return "", false
}

// OverrideBase tells whether rel (relative to root, '/'-separated) is a
// compose override file (compose.override.yaml, docker-compose.override.yml)
// with a default compose file beside it, and which: docker compose run in
// that folder without -f merges the override over it.
func OverrideBase(root, rel string) (string, bool) {
	dir, name := path.Split(rel)
	for _, stem := range defaultStems {
		if name != stem+".override.yaml" && name != stem+".override.yml" {
			continue
		}
		for _, e := range []string{".yaml", ".yml"} {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir+stem+e))); err == nil {
				return dir + stem + e, true
			}
		}
	}
	return "", false
}

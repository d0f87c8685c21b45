package configdiff

import (
	"regexp"
	"sort"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
)

// Level says how two sides were compared.
type Level string

const (
	// LevelEngine compares the vLLM engines by meaning: every flag normalised, defaults explicit.
	LevelEngine Level = "engine"
	// LevelCompose compares compose services as written: the command as one
	// text, since at least one side has no recognised vLLM engine.
	LevelCompose Level = "compose"
)

// Result is what Compare found.
type Result struct {
	Level   Level    `json:"level"`
	Changes []Change `json:"changes"`
	// NoEngine names the sides ("A", "B") that have no recognised vLLM engine.
	NoEngine []string `json:"no_engine,omitempty"`
}

// Compare compares two sides, each the services of a profile or a compose
// file. When both sides hold a vLLM engine it compares the first engine of
// each by meaning (Services). Otherwise it compares compose services: the
// only service (or the engine) of each side when each has one, else every
// service paired by name, with fields prefixed by "services.NAME.".
func Compare(a, b []*project.Service) Result {
	ea, eb := firstEngine(a), firstEngine(b)
	var r Result
	if ea == nil {
		r.NoEngine = append(r.NoEngine, "A")
	}
	if eb == nil {
		r.NoEngine = append(r.NoEngine, "B")
	}
	if ea != nil && eb != nil {
		r.Level, r.Changes = LevelEngine, Services(ea, eb)
		return r
	}
	r.Level = LevelCompose
	fa, fb := focus(a, ea), focus(b, eb)
	if fa != nil && fb != nil {
		r.Changes = ComposeServices(fa, fb)
		return r
	}
	byName := func(ss []*project.Service) map[string]*project.Service {
		m := map[string]*project.Service{}
		for _, s := range ss {
			m[s.Name] = s
		}
		return m
	}
	ma, mb := byName(a), byName(b)
	names := map[string]bool{}
	for n := range ma {
		names[n] = true
	}
	for n := range mb {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		x, y := ma[n], mb[n]
		switch {
		case x == nil:
			r.Changes = append(r.Changes, Change{Field: "services." + n, B: "present"})
		case y == nil:
			r.Changes = append(r.Changes, Change{Field: "services." + n, A: "present"})
		default:
			for _, c := range ComposeServices(x, y) {
				c.Field = "services." + n + "." + c.Field
				r.Changes = append(r.Changes, c)
			}
		}
	}
	return r
}

func firstEngine(ss []*project.Service) *project.Service {
	for _, s := range ss {
		if s.Engine {
			return s
		}
	}
	return nil
}

// focus is the service a side stands for: its engine, else its only service.
func focus(ss []*project.Service, engine *project.Service) *project.Service {
	if engine != nil {
		return engine
	}
	if len(ss) == 1 {
		return ss[0]
	}
	return nil
}

// ComposeServices compares two compose services as written: image,
// entrypoint and command (secret values masked), then what Services compares
// besides the vLLM flags.
func ComposeServices(a, b *project.Service) []Change {
	var out []Change
	add := func(field, x, y string) {
		if x == y {
			return
		}
		mx, my := maskText(x), maskText(y)
		if mx == my {
			mx, my = mx+" (one secret value)", my+" (another secret value)"
		}
		out = append(out, shown(field, mx, my))
	}
	add("image", a.Config.Image, b.Config.Image)
	add("entrypoint", words(a.Config.Entrypoint), words(b.Config.Entrypoint))
	add("command", words(a.Config.Command), words(b.Config.Command))
	return append(out, common(a, b)...)
}

func words(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		if w == "" || strings.ContainsAny(w, " \t\n\"'") {
			w = `"` + strings.ReplaceAll(w, `"`, `\"`) + `"`
		}
		q[i] = w
	}
	return strings.Join(q, " ")
}

// secretInText finds secret values written in a command line or script:
// --api-key VALUE, --api-key=VALUE, and NAME=VALUE for secret-named variables.
var secretInText = regexp.MustCompile(`(?i)(--api[-_]key[= ]+|\b(?:[a-z0-9_]*_)?(?:api_key|token|secret|password)=)("[^"]*"|'[^']*'|[^\s"']+)`)

// maskText replaces secret values in a command text with ***. References to
// variables ($VAR, ${VAR}) are kept: they are names, not values.
func maskText(s string) string {
	return secretInText.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretInText.FindStringSubmatch(m)
		v := strings.Trim(sub[2], `"'`)
		if strings.HasPrefix(v, "$") {
			return m
		}
		return sub[1] + "***"
	})
}

package audit

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// identity is what makes two files configs of the same thing: the model the
// engine serves; else (the model unknown, say behind a wrapper script) the
// compose service with its container_name, which operators keep for one
// deployment; else nothing shared: the file alone. A bare service name such as
// "vllm" is shared by unrelated files and is no identity.
func identity(e *entry) string {
	if e.svc == nil {
		return ""
	}
	if m := model(e); m != "" {
		return "model " + m
	}
	if c := e.svc.Config.ContainerName; c != "" {
		return "service " + e.svc.Name + " (container " + c + ")"
	}
	return "service " + e.svc.Name + " of " + e.f.Path
}

// sameDeployment tells whether two engines are the same deployment: the same
// compose service with the same container_name.
func sameDeployment(a, b *entry) bool {
	c := a.svc.Config.ContainerName
	return c != "" && a.svc.Name == b.svc.Name && c == b.svc.Config.ContainerName
}

// model is the model an engine serves, or "" when it is not known here (not
// written, or held by a variable or script value vllmctl cannot read).
func model(e *entry) string {
	if m := e.svc.Args.Model; !vllm.HasUnknown(m) {
		return m
	}
	return ""
}

var wordSplit = regexp.MustCompile(`[^a-z0-9]+`)

func nameWords(rel string) map[string]bool {
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel)))
	out := map[string]bool{}
	for _, w := range wordSplit.Split(base, -1) {
		out[w] = true
	}
	return out
}

// assignGroups puts every engine file in a group. An active profile is its own
// group, named after it. Another file joins the profile that serves the same
// model (its model unknown: that is the same deployment, see sameDeployment);
// when several profiles do, the one named in the file name or running the
// same service; otherwise it forms a group of its identity with the files
// that share it. A name alone never joins unrelated files: two files whose
// names share a word but that serve different models are different groups.
func assignGroups(all []*entry) {
	var profiles []*entry
	for _, e := range all {
		if e.f.Kind == KindProfile && e.svc != nil {
			e.f.Group = e.f.Profile
			profiles = append(profiles, e)
		}
	}
	pick := func(e *entry, match func(p *entry) bool) string {
		var hits []*entry
		for _, p := range profiles {
			if match(p) {
				hits = append(hits, p)
			}
		}
		if len(hits) > 1 {
			words := nameWords(e.f.Path)
			var named []*entry
			for _, p := range hits {
				if words[strings.ToLower(p.f.Profile)] || p.svc.Name == e.svc.Name {
					named = append(named, p)
				}
			}
			hits = named
		}
		if len(hits) == 1 {
			return hits[0].f.Group
		}
		return ""
	}
	for _, e := range all {
		if e.svc == nil || e.f.Kind == KindBase {
			continue
		}
		e.f.Identity = identity(e)
		if e.f.Kind == KindProfile {
			continue
		}
		if m := model(e); m != "" {
			if e.f.Group = pick(e, func(p *entry) bool { return model(p) == m }); e.f.Group == "" {
				e.f.Group = e.f.Identity
			}
		}
	}
	// A file of unknown model joins the one group holding the same deployment
	// (a profile first); else its identity names its group.
	for _, e := range all {
		if e.svc == nil || e.f.Group != "" || e.f.Kind == KindBase {
			continue
		}
		if e.f.Group = pick(e, func(p *entry) bool { return sameDeployment(e, p) }); e.f.Group != "" {
			continue
		}
		groups := map[string]bool{}
		for _, o := range all {
			if o != e && o.svc != nil && model(o) != "" && o.f.Group != "" && sameDeployment(e, o) {
				groups[o.f.Group] = true
			}
		}
		e.f.Group = e.f.Identity
		if len(groups) == 1 {
			for g := range groups {
				e.f.Group = g
			}
		}
	}
}

var sizeTokens = []string{"micro", "mini", "medium", "large"}

var unsafeName = regexp.MustCompile(`[^a-z0-9._-]+`)

// suggestName proposes a profile name for a file to adopt: a size word of its
// name, else its model's name, else its service's; never one taken.
func suggestName(e *entry, taken map[string]bool) string {
	words := nameWords(e.f.Path)
	var cands []string
	for _, s := range sizeTokens {
		if words[s] {
			cands = append(cands, s)
		}
	}
	if m := model(e); m != "" {
		cands = append(cands, unsafeName.ReplaceAllString(strings.ToLower(m[strings.LastIndex(m, "/")+1:]), "-"))
	}
	cands = append(cands, unsafeName.ReplaceAllString(strings.ToLower(e.svc.Name), "-"))
	for _, c := range cands {
		if c != "" && !taken[c] {
			return c
		}
	}
	base := cands[len(cands)-1]
	for i := 2; ; i++ {
		if c := base + "-" + strconv.Itoa(i); !taken[c] {
			return c
		}
	}
}

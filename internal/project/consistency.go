package project

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/vllmctl/vllmctl/internal/vllm"
)

// undefinedRefs finds what Compose's consistency check refuses and vllmctl's
// load (which skips that check to read partial files) would not: a service
// naming a network, a named volume, a secret or a config the file does not
// declare, or depending on a service it does not define. `docker compose up`
// stops on each with "refers to undefined …".
func (pr *Profile) undefinedRefs(cp *types.Project) []Diagnostic {
	var out []Diagnostic
	var siblings map[string]map[string]string // top-level key → name → the file beside that declares it
	add := func(svc, list, item, what string) {
		pos, path := pr.itemPos(svc, list, item)
		hint := fmt.Sprintf("declare %s under the top-level %s: key (or fix the name)", vllm.ShowUnknown(item), list)
		top := list
		if list == "depends_on" {
			top = "services"
			hint = "define the service " + vllm.ShowUnknown(item) + " in this file (or fix the name)"
		}
		d := Diagnostic{Pos: pos, Severity: Error, Code: "compose-undefined", Path: path,
			Message: fmt.Sprintf("service %q refers to undefined %s %s: `docker compose up` refuses the file", svc, what, vllm.ShowUnknown(item)),
			Hint:    hint}
		if siblings == nil {
			siblings = pr.siblingDeclarations()
		}
		if f := siblings[top][item]; f != "" {
			// One file of a multi-file set (docker compose -f a.yml -f b.yml):
			// refused alone, fine together.
			d.Severity = Warning
			d.Message = fmt.Sprintf("service %q refers to %s %s, which this file does not define but %s beside it does: `docker compose up` refuses this file alone", svc, what, vllm.ShowUnknown(item), f)
			d.Hint = fmt.Sprintf("start them together (docker compose -f %s -f %s), or declare it here", filepath.Base(pr.Sources[len(pr.Sources)-1].Path), f)
		}
		out = append(out, d)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range cp.Services {
			if !yield(n) {
				return
			}
		}
	}) {
		s := cp.Services[name]
		for _, n := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.Networks {
				if !yield(k) {
					return
				}
			}
		}) {
			if _, ok := cp.Networks[n]; !ok && n != "default" && s.NetworkMode == "" {
				add(name, "networks", n, "network")
			}
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeVolume || v.Source == "" || vllm.HasUnknown(v.Source) {
				continue
			}
			if _, ok := cp.Volumes[v.Source]; !ok {
				add(name, "volumes", v.Source, "volume")
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := cp.Secrets[sec.Source]; !ok && sec.Source != "" {
				add(name, "secrets", sec.Source, "secret")
			}
		}
		for _, c := range s.Configs {
			if _, ok := cp.Configs[c.Source]; !ok && c.Source != "" {
				add(name, "configs", c.Source, "config")
			}
		}
		for _, dep := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.DependsOn {
				if !yield(k) {
					return
				}
			}
		}) {
			_, defined := cp.Services[dep]
			_, disabled := cp.DisabledServices[dep]
			if !defined && !disabled {
				add(name, "depends_on", dep, "service")
			}
		}
	}
	return out
}

// itemPos finds where a service's list (or map) names item: the list entry
// whose value is item or starts with "item:", the map key item, else the list,
// else the service.
func (pr *Profile) itemPos(svc, list, item string) (Pos, string) {
	if pos, path, ok := pr.ListItemPos(svc, list, item, func(v string) bool { return v == item || strings.HasPrefix(v, item+":") }); ok {
		return pos, path
	}
	base := "services." + svc + "." + list
	if pos, ok := pr.PosOf(base); ok {
		return pos, base
	}
	return pr.ServicePos(svc), "services." + svc
}

// ListItemPos finds a service's list entry whose value (or long form's
// source) match accepts, else the map key, in the last file that writes it.
func (pr *Profile) ListItemPos(svc, list, key string, match func(string) bool) (Pos, string, bool) {
	base := "services." + svc + "." + list
	for i := len(pr.Sources) - 1; i >= 0; i-- {
		src := pr.Sources[i]
		for j := 0; ; j++ {
			p := fmt.Sprintf("%s.%d", base, j)
			n, ok := src.nodes[p]
			if !ok {
				if n, ok = src.nodes[p+".source"]; !ok {
					break
				}
			}
			if match(n.Value) {
				return Pos{File: src.Path, Line: n.Line, Col: n.Column}, p, true
			}
		}
		if pos, ok := src.KeyPos(base + "." + key); ok {
			return pos, base + "." + key, true
		}
		if pos, ok := src.PosOf(base + "." + key); ok {
			return pos, base + "." + key, true
		}
	}
	return Pos{}, "", false
}

// siblingDeclarations reads the other compose files beside the profile's
// file for the names they declare at the top level (services, networks,
// volumes, secrets, configs), first file by name first.
func (pr *Profile) siblingDeclarations() map[string]map[string]string {
	out := map[string]map[string]string{}
	if len(pr.Sources) == 0 || pr.Sources[len(pr.Sources)-1].Abs == "" {
		return out
	}
	own := map[string]bool{}
	for _, s := range pr.Sources {
		own[filepath.Clean(s.Abs)] = true
	}
	dir := filepath.Dir(pr.Sources[len(pr.Sources)-1].Abs)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || ext != ".yml" && ext != ".yaml" || own[filepath.Join(dir, name)] {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(data) > 1<<20 {
			continue
		}
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) != nil {
			continue
		}
		for _, key := range []string{"services", "networks", "volumes", "secrets", "configs"} {
			m, _ := doc[key].(map[string]any)
			for k := range m {
				if out[key] == nil {
					out[key] = map[string]string{}
				}
				if out[key][k] == "" {
					out[key][k] = name
				}
			}
		}
	}
	return out
}

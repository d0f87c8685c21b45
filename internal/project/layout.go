package project

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Layouts: most folders keep one overlay per profile in profiles_dir; model-zoo
// repositories keep one stand-alone compose file per model and variant in
// nested folders (models/<model>/vllm/compose/<gpus>/<quant>/<variant>.yml).
// vllmctl.yaml's `profiles:` lists such files or globs ("**" crosses folders),
// and each file becomes a profile named from the parts of its path that tell
// it apart from the others.

// skipDirs are folders never searched for compose files.
var skipDirs = map[string]bool{".git": true, ".vllmctl": true, "node_modules": true, ".venv": true, "__pycache__": true}

// GlobFiles expands the patterns of vllmctl.yaml's profiles: (paths relative to
// root, '/'-separated, "**" for any number of folders) into the files they
// match, sorted and without duplicates.
func GlobFiles(root string, patterns []string) ([]string, error) {
	var out []string
	for _, pat := range patterns {
		pat = strings.TrimPrefix(filepath.ToSlash(pat), "./")
		if !strings.ContainsAny(pat, "*?[") {
			out = append(out, pat)
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if rel != "." && skipDirs[d.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if MatchGlob(pat, rel) {
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MatchGlob matches a '/'-separated path against a pattern of path.Match
// segments where "**" matches any number of segments (none included).
func MatchGlob(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegs(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], segs[0]); err != nil || !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// ProfileNames names profiles after their files: the file name without its
// extension when the files share one folder; else, for every file, the model
// folder (models/<model>/…) and the path's segments that differ between
// the files (leading folders all share, and folders at the same depth that
// all share, are left out), joined with '-'. Names are unique.
func ProfileNames(files []string) map[string]string {
	names := map[string]string{}
	base := func(f string) string {
		b := path.Base(f)
		return strings.TrimSuffix(b, path.Ext(b))
	}
	count := map[string]int{}
	for _, f := range files {
		count[base(f)]++
	}
	split := map[string][]string{}
	for _, f := range files {
		segs := strings.Split(strings.TrimSuffix(f, path.Ext(f)), "/")
		split[f] = segs
	}
	// Segments shared by every file at the same position (from the start).
	shared := func(i int) bool {
		var v string
		for n, f := range files {
			segs := split[f]
			if i >= len(segs)-1 { // never drop the file name itself
				return false
			}
			if n == 0 {
				v = segs[i]
			} else if segs[i] != v {
				return false
			}
		}
		return true
	}
	unique := true
	for _, n := range count {
		unique = unique && n == 1
	}
	for _, f := range files {
		unique = unique && path.Dir(f) == path.Dir(files[0])
	}
	for _, f := range files {
		if unique {
			names[f] = sanitizeName(base(f))
			continue
		}
		var parts []string
		for i, s := range split[f] {
			model := i > 0 && split[f][i-1] == "models" // models/<model>/…: the model names the profile
			if model || !shared(i) && s != "compose" && s != "docker" && s != "vllm" && s != "models" || i == len(split[f])-1 {
				parts = append(parts, s)
			}
		}
		names[f] = sanitizeName(strings.Join(parts, "-"))
	}
	// Make every name unique, adding leading segments back when two collide.
	for {
		seen := map[string][]string{}
		for _, f := range files {
			seen[names[f]] = append(seen[names[f]], f)
		}
		clash := false
		for _, fs := range seen {
			if len(fs) < 2 {
				continue
			}
			clash = true
			for _, f := range fs {
				names[f] = sanitizeName(strings.ReplaceAll(strings.TrimSuffix(f, path.Ext(f)), "/", "-"))
			}
		}
		if !clash {
			break
		}
		// Full paths are unique; a second round cannot clash.
		break
	}
	return names
}

// NoProfilesHint says what to do when the project has no profiles: adopt the
// compose files found elsewhere in the folder, or create one.
func (p *Project) NoProfilesHint() string {
	where := p.Config.ProfilesDir
	if len(p.Config.Profiles) > 0 {
		where = "profiles: " + strings.Join(p.Config.Profiles, ", ")
	}
	files, _ := GlobFiles(p.Root, []string{"**/*compose*.yml", "**/*compose*.yaml"})
	var live []string
	for _, f := range files {
		if !strings.Contains(strings.ToLower(f), "archive") && f != path.Clean(filepath.ToSlash(p.Config.BaseFile)) {
			live = append(live, f)
		}
	}
	if len(live) > 0 {
		ex := live[0]
		if len(live) > 1 {
			ex += fmt.Sprintf(" and %d more", len(live)-1)
		}
		return fmt.Sprintf("no profiles in %s, but the folder has compose files (%s): run 'vllmctl init --adopt' to list those that run vLLM as profiles in vllmctl.yaml, or 'vllmctl check --file FILE' for one", where, ex)
	}
	return fmt.Sprintf("no profiles in %s (create one with 'vllmctl new NAME --model ID', or start with 'vllmctl init')", where)
}

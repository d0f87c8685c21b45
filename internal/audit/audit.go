// Package audit scans every compose file of a folder, recognises the vLLM
// services, groups files that are the same config or variants of one profile,
// tells which flags changed between them, which file is live, and proposes a
// plan: keep or archive, with a reason per file. It is pure: files come from
// disk through project.Load, running engines arrive as values.
package audit

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vllmctl/vllmctl/internal/check"
	"github.com/vllmctl/vllmctl/internal/configdiff"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Running is an engine seen running, from its labels.
type Running struct {
	Profile string
	Hash    string
	Name    string
}

// Unlabeled is a running engine vllmctl did not start: only its command line is known.
type Unlabeled struct {
	Name string
	Argv []string
}

// Options configure Run.
type Options struct {
	Dir             string      // folder to scan, relative to the root or absolute. Default: the root
	IncludeArchives bool        // scan the archive folder too
	Running         []Running   // engines seen running, by label
	Unlabeled       []Unlabeled // running engines without labels, matched by command line
	MaxChanges      int         // changes listed per file. Default 8
}

// File is one scanned compose file.
type File struct {
	Path     string              `json:"path"`
	Kind     string              `json:"kind"` // profile, base, stand-alone, archived, history
	Group    string              `json:"group"`
	Services []string            `json:"services,omitempty"`
	Model    string              `json:"model,omitempty"`
	Errors   int                 `json:"check_errors"`
	Relation string              `json:"relation"`
	Changes  []configdiff.Change `json:"changes,omitempty"`
	Running  string              `json:"running,omitempty"`
	Action   string              `json:"action"` // keep, archive
	Reason   string              `json:"reason"`
	Profile  string              `json:"profile,omitempty"` // the active profile it belongs to
	broken   bool
}

// Report is the whole audit.
type Report struct {
	Files  []File              `json:"files"`
	Groups map[string][]string `json:"groups"`
}

var sizeTokens = []string{"micro", "mini", "medium", "large"}

// Run audits the project's folder.
func Run(ctx context.Context, p *project.Project, o Options) (Report, error) {
	if o.MaxChanges == 0 {
		o.MaxChanges = 8
	}
	dir := o.Dir
	if dir == "" {
		dir = p.Root
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.Root, dir)
	}
	archiveAbs := filepath.Join(p.Root, filepath.FromSlash(p.Config.ArchiveDir))
	profilesAbs := filepath.Join(p.Root, filepath.FromSlash(p.Config.ProfilesDir))
	baseAbs := filepath.Join(p.Root, filepath.FromSlash(p.Config.BaseFile))
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			n := d.Name()
			if n == ".git" || n == ".vllmctl" || n == "node_modules" || (!o.IncludeArchives && path == archiveAbs) {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); (ext == ".yml" || ext == ".yaml") && isCompose(path) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	sort.Strings(paths)
	// Active profiles by name.
	active := map[string]*project.Profile{}
	for _, pr := range p.Profiles {
		active[pr.Name] = pr
	}
	rep := Report{Groups: map[string][]string{}}
	type loaded struct {
		f   File
		svc *project.Service
		ord int // recency: higher is newer
	}
	var all []loaded
	for _, path := range paths {
		rel := p.Rel(path)
		f := File{Path: rel}
		var svc *project.Service
		switch {
		case path == baseAbs:
			f.Kind = "base"
		case filepath.Dir(path) == profilesAbs:
			f.Kind = "profile"
			f.Profile = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		case strings.HasPrefix(path, archiveAbs+string(filepath.Separator)):
			f.Kind = "archived"
		case strings.Contains(rel, "history"):
			f.Kind = "history"
		default:
			f.Kind = "stand-alone"
		}
		if f.Kind == "profile" && active[f.Profile] != nil {
			pr := active[f.Profile]
			if es := pr.Engines(); len(es) > 0 {
				svc = es[0]
			}
			f.Errors = project.CountErrors(check.Run(p, check.Options{Profiles: []string{f.Profile}}))
			for _, s := range pr.Services {
				f.Services = append(f.Services, s.Name)
			}
		} else if f.Kind != "base" {
			sp, err := project.Load(ctx, project.Options{Root: p.Root, Files: []string{path}, Environ: p.Environ()})
			if err == nil && len(sp.Profiles) == 1 {
				pr := sp.Profiles[0]
				f.Errors = project.CountErrors(check.Run(sp, check.Options{}))
				f.broken = pr.Compose == nil
				for _, s := range pr.Services {
					f.Services = append(f.Services, s.Name)
				}
				if es := pr.Engines(); len(es) > 0 {
					svc = es[0]
				}
			}
		}
		if svc != nil {
			f.Model = svc.Args.Model
		}
		f.Group = groupOf(rel, f, active)
		all = append(all, loaded{f: f, svc: svc, ord: recency(f, rel)})
	}
	// The reference of each group: its active profile, else its newest file.
	ref := map[string]int{}
	for i, l := range all {
		if l.svc == nil || l.f.Group == "" {
			continue
		}
		j, ok := ref[l.f.Group]
		if !ok || l.ord > all[j].ord {
			ref[l.f.Group] = i
		}
	}
	running := map[string]Running{}
	for _, r := range o.Running {
		running[r.Profile] = r
	}
	for i := range all {
		l := &all[i]
		f := &l.f
		if l.f.Group != "" {
			rep.Groups[l.f.Group] = append(rep.Groups[l.f.Group], f.Path)
		}
		if r, ok := running[f.Profile]; ok && f.Kind == "profile" {
			f.Running = "running as " + r.Name
		}
		if l.svc != nil {
			for _, u := range o.Unlabeled {
				if sameFlags(l.svc, u.Argv) {
					f.Running = "running as " + u.Name + " (matched by its command line)"
				}
			}
		}
		refIdx, hasRef := ref[f.Group]
		switch {
		case f.Kind == "base":
			f.Relation, f.Action, f.Reason = "base file merged under every profile", "keep", "base file"
			continue
		case l.svc == nil && f.broken:
			f.Relation = "does not load (run vllmctl check --file " + f.Path + ")"
			f.Action, f.Reason = "archive", "compose cannot load it"
			if f.Kind == "archived" {
				f.Action, f.Reason = "keep", "already archived"
			}
			continue
		case l.svc == nil:
			f.Relation = "no vLLM service"
			f.Action, f.Reason = "keep", "not a vLLM config"
			if f.Kind == "stand-alone" || f.Kind == "history" {
				f.Action, f.Reason = "archive", "compose file without a vLLM service outside the profiles folder"
			}
			if f.Kind == "archived" {
				f.Reason = "already archived"
			}
			continue
		case hasRef && refIdx == i:
			if f.Kind == "profile" {
				f.Relation, f.Action, f.Reason = "active profile "+f.Profile, "keep", "the live config of profile "+f.Profile
			} else {
				f.Relation = "newest config of " + f.Group + " (no profile)"
				f.Action, f.Reason = "keep", fmt.Sprintf("adopt it as %s/%s.yml: it is outside the naming convention", p.Config.ProfilesDir, f.Group)
				if f.Kind == "archived" {
					f.Reason = "already archived; the only config of " + f.Group
				}
			}
			continue
		}
		refFile := all[refIdx]
		ch := configdiff.Services(refFile.svc, l.svc)
		// Show changes from the old file to the reference: A = this file, B = reference.
		for k := range ch {
			ch[k].A, ch[k].B = ch[k].B, ch[k].A
		}
		refName := refFile.f.Path
		if refFile.f.Kind == "profile" {
			refName = "profile " + refFile.f.Profile
		}
		if len(ch) == 0 {
			f.Relation = "same config as " + refName
		} else {
			f.Relation = fmt.Sprintf("earlier version of %s (%d change(s))", refName, len(ch))
			if len(ch) > o.MaxChanges {
				ch = ch[:o.MaxChanges]
			}
			f.Changes = ch
		}
		switch f.Kind {
		case "archived":
			f.Action, f.Reason = "keep", "already archived"
		case "profile":
			f.Action, f.Reason = "keep", "active profile"
		default:
			f.Action = "archive"
			if len(ch) == 0 {
				f.Reason = "duplicate of " + refName
			} else {
				f.Reason = "superseded by " + refName
			}
		}
	}
	for _, l := range all {
		rep.Files = append(rep.Files, l.f)
	}
	return rep, nil
}

// sameFlags tells whether a running command line is this service's engine
// command, by meaning (normalised flags, defaults explicit).
func sameFlags(svc *project.Service, argv []string) bool {
	other := &project.Service{Args: vllm.Parse(argv)}
	a, b := configdiff.Flags(svc), configdiff.Flags(other)
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if vllm.IsSecretFlag(k) {
				delete(m, k) // keys differ between a file and the live value; they do not tell a config
			}
		}
	}
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

var composeKey = regexp.MustCompile(`(?m)^services:\s*$`)

func isCompose(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && composeKey.Match(b)
}

var wordSplit = regexp.MustCompile(`[^a-z0-9]+`)

// groupOf names the profile a file belongs to: an active profile whose name is
// a word of the file name, else a size word, else the model.
func groupOf(rel string, f File, active map[string]*project.Profile) string {
	if f.Kind == "profile" {
		return f.Profile
	}
	if f.Kind == "base" {
		return ""
	}
	words := wordSplit.Split(strings.ToLower(strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel))), -1)
	names := make([]string, 0, len(active))
	for n := range active {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, w := range words {
		for _, n := range names {
			if w == n {
				return n
			}
		}
	}
	for _, w := range words {
		for _, s := range sizeTokens {
			if w == s {
				return s
			}
		}
	}
	if strings.Contains(rel, "history") {
		for _, w := range words {
			if active[w] != nil {
				return w
			}
		}
	}
	if f.Model != "" {
		return "model " + f.Model
	}
	return ""
}

var dateIn = regexp.MustCompile(`(20\d\d)[-_]?(\d\d)[-_]?(\d\d)`)

// recency orders configs: active profile, then stand-alone files, then history
// by date, then archives by date.
func recency(f File, rel string) int {
	date := 0
	if m := dateIn.FindStringSubmatch(rel); m != nil {
		fmt.Sscanf(m[1]+m[2]+m[3], "%d", &date)
	}
	switch f.Kind {
	case "profile":
		return 4_0000_0000
	case "stand-alone":
		return 3_0000_0000
	case "history":
		return 2_0000_0000 + date
	}
	return 1_0000_0000 + date
}

// Package audit scans every compose file of a folder, recognises the vLLM
// services, groups the files that configure the same thing (the same model,
// else the same compose service), tells which flags changed between them,
// which file is live and by which rule, and proposes a plan: keep or archive,
// with a reason per file. A file is proposed as live only when it is a
// stand-alone compose file that passes check and is not archived or rejected;
// the newest is chosen by the date in the names, then by modification time,
// and a tie is reported as a tie. It is pure apart from reading the folder:
// files come from disk through project.Load, running engines arrive as values.
package audit

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/check"
	"github.com/vllmctl/vllmctl/internal/configdiff"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
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
	IncludeArchives bool        // scan archive folders too (the archive_dir and folders named archive, deprecated, rejected…). Default: false
	Running         []Running   // engines seen running, by label
	Unlabeled       []Unlabeled // running engines without labels, matched by command line
	MaxChanges      int         // changes listed per file. Default 8
}

// Action is what the plan proposes for a file.
type Action string

const (
	ActionKeep    Action = "keep"
	ActionArchive Action = "archive"
)

// File is one scanned compose file.
type File struct {
	Path     string              `json:"path"`
	Kind     Kind                `json:"kind"`
	Group    string              `json:"group"`
	Identity string              `json:"identity,omitempty"` // "model M" or "service S": what groups it
	Services []string            `json:"services,omitempty"`
	Model    string              `json:"model,omitempty"`
	Errors   int                 `json:"check_errors"`
	Date     string              `json:"date,omitempty"` // the date in its name, YYYY-MM-DD
	Relation string              `json:"relation"`
	Changes  []configdiff.Change `json:"changes,omitempty"`
	Running  string              `json:"running,omitempty"`
	Action   Action              `json:"action"`
	Reason   string              `json:"reason"`
	Skipped  string              `json:"skipped,omitempty"` // why it is not proposed as live
	Profile  string              `json:"profile,omitempty"` // the active profile it is
	broken   bool
}

// Decision says which file of a group is live, and why.
type Decision struct {
	Group  string   `json:"group"`
	Live   string   `json:"live,omitempty"`  // the active profile, or the file proposed for adoption
	Adopt  string   `json:"adopt,omitempty"` // the profile file to adopt Live as
	Rule   Rule     `json:"rule"`
	Detail string   `json:"detail"`
	Tied   []string `json:"tied,omitempty"` // the files that tie, when Rule is tie
}

// Report is the whole audit.
type Report struct {
	Files     []File              `json:"files"`
	Groups    map[string][]string `json:"groups"`
	Decisions []Decision          `json:"decisions"`
}

type entry struct {
	f     File
	svc   *project.Service
	date  time.Time // in its name; zero when none
	mtime time.Time
	// retiredDir is the archive folder it sits in ("" when none): the
	// archive_dir, or a folder named archive, deprecated, rejected…
	retiredDir string
}

// Run audits the project's folder.
func Run(ctx context.Context, p *project.Project, o Options) (Report, error) {
	if o.MaxChanges == 0 {
		o.MaxChanges = 8
	}
	all, err := scan(ctx, p, o)
	if err != nil {
		return Report{}, err
	}
	assignGroups(all)
	rep := Report{Groups: map[string][]string{}}
	groups := map[string][]*entry{}
	for _, e := range all {
		if e.f.Group != "" {
			groups[e.f.Group] = append(groups[e.f.Group], e)
			rep.Groups[e.f.Group] = append(rep.Groups[e.f.Group], e.f.Path)
		}
	}
	taken := map[string]bool{}
	for _, pr := range p.Profiles {
		taken[pr.Name] = true
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		rep.Decisions = append(rep.Decisions, decide(p, g, groups[g], taken, o))
	}
	for _, e := range all {
		if e.f.Group == "" {
			loose(e)
		}
	}
	running := map[string]Running{}
	for _, r := range o.Running {
		running[r.Profile] = r
	}
	for _, e := range all {
		if r, ok := running[e.f.Profile]; ok && e.f.Kind == KindProfile {
			e.f.Running = "running as " + r.Name
		}
		if e.svc != nil && e.svc.Engine {
			for _, u := range o.Unlabeled {
				if sameFlags(e.svc, u.Argv) {
					e.f.Running = "running as " + u.Name + " (matched by its command line)"
				}
			}
		}
		rep.Files = append(rep.Files, e.f)
	}
	return rep, nil
}

// scan finds and loads the compose files.
func scan(ctx context.Context, p *project.Project, o Options) ([]*entry, error) {
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
			if n == ".git" || n == ".vllmctl" || n == "node_modules" {
				return filepath.SkipDir
			}
			if !o.IncludeArchives && path != dir && (path == archiveAbs || archiveDirName.MatchString(n)) {
				return filepath.SkipDir
			}
			return nil
		}
		if composeName(d.Name()) && isCompose(path) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	active := map[string]*project.Profile{}
	for _, pr := range p.Profiles {
		active[pr.Name] = pr
	}
	var all []*entry
	for _, path := range paths {
		rel := p.Rel(path)
		e := &entry{f: File{Path: rel}, date: nameDate(rel)}
		if !e.date.IsZero() {
			e.f.Date = e.date.Format("2006-01-02")
		}
		if st, err := os.Stat(path); err == nil {
			e.mtime = st.ModTime()
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		mark := nameMark.FindStringSubmatch(filepath.Base(path))
		if strings.HasPrefix(path, archiveAbs+string(filepath.Separator)) {
			e.retiredDir = p.Config.ArchiveDir
		} else {
			e.retiredDir = retiredFolder(rel)
		}
		switch {
		case path == baseAbs:
			e.f.Kind = KindBase
		case filepath.Dir(path) == profilesAbs && active[name] != nil:
			e.f.Kind, e.f.Profile = KindProfile, name
		case e.retiredDir != "":
			e.f.Kind = KindArchived
		case mark != nil && strings.EqualFold(mark[1], "rejected"):
			e.f.Kind = KindRejected
		case mark != nil:
			e.f.Kind = KindArchived
		case strings.Contains(rel, "history"):
			e.f.Kind = KindHistory
		default:
			e.f.Kind = KindStandalone
		}
		switch e.f.Kind {
		case KindBase:
		case KindProfile:
			pr := active[e.f.Profile]
			if es := pr.Engines(); len(es) > 0 {
				e.svc = es[0]
			}
			e.f.Errors = project.CountErrors(check.Run(p, check.Options{Profiles: []string{e.f.Profile}}))
			for _, s := range pr.Services {
				e.f.Services = append(e.f.Services, s.Name)
			}
		default:
			sp, err := project.Load(ctx, project.Options{Root: p.Root, Files: []string{path}, Environ: p.Environ(), Images: p.Images()})
			if err == nil && len(sp.Profiles) == 1 {
				pr := sp.Profiles[0]
				e.f.Errors = project.CountErrors(check.Run(sp, check.Options{}))
				e.f.broken = pr.Compose == nil
				for _, s := range pr.Services {
					e.f.Services = append(e.f.Services, s.Name)
				}
				if es := pr.Engines(); len(es) > 0 {
					e.svc = es[0]
				}
			} else {
				e.f.broken = true
			}
		}
		if e.svc != nil {
			e.f.Model = vllm.ShowUnknown(e.svc.Args.Model)
			if v, src := e.svc.Args.Effective("model"); e.f.Model == "" && src == vllm.FromUnknown {
				e.f.Model = v // the reference that holds it (${MODEL}), or why it cannot be seen
			}
		}
		all = append(all, e)
	}
	return all, nil
}

// skipReason says why a file of a group may not be live, or "" when it may.
func skipReason(e *entry) string {
	switch {
	case e.f.Kind == KindRejected:
		return "marked rejected in its name"
	case e.retiredDir != "":
		return "in the archive folder " + e.retiredDir
	case e.f.Kind == KindArchived:
		return "archived"
	case e.f.Kind == KindHistory:
		return "a copy in a history folder"
	case e.f.broken:
		return "compose cannot load it (vllmctl check --file " + e.f.Path + ")"
	case e.f.Errors > 0:
		return fmt.Sprintf("fails check with %d error(s) (vllmctl check --file %s)", e.f.Errors, e.f.Path)
	}
	return ""
}

// decide finds a group's live file, then says for every file of the group
// what it is to that file and what to do with it.
func decide(p *project.Project, group string, es []*entry, taken map[string]bool, o Options) Decision {
	d := Decision{Group: group}
	var live, ref *entry
	var tied []*entry
	var cands, rest []*entry
	for _, e := range es {
		switch {
		case e.f.Kind == KindProfile:
			live = e
		case e.f.Kind == KindStandalone && skipReason(e) == "":
			cands = append(cands, e)
		default:
			e.f.Skipped = skipReason(e)
		}
	}
	switch {
	case live != nil:
		d.Live, d.Rule, d.Detail = live.f.Path, RuleProfile, "the active profile "+live.f.Profile
		ref = live
		for _, e := range cands {
			e.f.Skipped = "the group has an active profile"
		}
	case len(cands) == 0:
		d.Rule, d.Detail = RuleNone, "no file of the group may be live: see each file's reason"
	default:
		win, rule, detail := newest(cands)
		d.Rule, d.Detail = rule, detail
		won := map[*entry]bool{}
		for _, e := range win {
			won[e] = true
		}
		for _, e := range cands {
			if !won[e] {
				e.f.Skipped = "not the newest: " + win[0].f.Path + " is (" + detail + ")"
				if len(win) > 1 {
					e.f.Skipped = "older than the files that tie"
				}
			}
		}
		if len(win) == 1 {
			live, ref = win[0], win[0]
			d.Live = live.f.Path
			name := suggestName(live, taken)
			taken[name] = true
			d.Adopt = p.Config.ProfilesDir + "/" + name + ".yml"
		} else {
			tied = win
			for _, e := range win {
				d.Tied = append(d.Tied, e.f.Path)
			}
			ref = win[0]
		}
	}
	if ref == nil { // nothing may be live: compare against the newest of what is not retired, else of all
		for _, e := range es {
			if !e.f.Kind.retired() {
				rest = append(rest, e)
			}
		}
		if len(rest) == 0 {
			rest = es
		}
		win, _, _ := newest(rest)
		ref = win[0]
	}
	isTied := map[*entry]bool{}
	for _, e := range tied {
		isTied[e] = true
	}
	for _, e := range es {
		f := &e.f
		switch {
		case e == live && f.Kind == KindProfile:
			f.Relation, f.Action, f.Reason = "active profile "+f.Profile, ActionKeep, "the live config of profile "+f.Profile
			continue
		case e == live:
			f.Relation = "newest config of " + group + " (no profile)"
			f.Action, f.Reason = ActionKeep, fmt.Sprintf("adopt it as %s: %s; it is outside the naming convention", d.Adopt, d.Detail)
			continue
		case isTied[e]:
			f.Relation = "newest config of " + group + ", tied with " + strings.Join(others(d.Tied, f.Path), ", ")
			f.Action, f.Reason = ActionKeep, "tie: "+d.Detail+"; no file is proposed as live: choose one by hand (vllmctl diff "+strings.Join(d.Tied[:2], " ")+")"
			continue
		}
		same := false
		if e == ref {
			f.Relation = "newest config of " + group + " (no profile)"
		} else {
			same = relate(e, ref, o)
		}
		refName := ref.f.Path
		if ref.f.Kind == KindProfile {
			refName = "profile " + ref.f.Profile
		}
		switch {
		case e.retiredDir != "":
			f.Action, f.Reason = ActionKeep, "already archived"
		case f.Kind.retired():
			f.Action, f.Reason = ActionArchive, f.Skipped+": never proposed as live"
		case live != nil && same:
			f.Action, f.Reason = ActionArchive, "duplicate of "+refName
		case live != nil && (live.f.Kind == KindProfile || newerThan(live, e)):
			f.Action, f.Reason = ActionArchive, "superseded by "+refName
		case live != nil && newerThan(e, live):
			f.Action, f.Reason = ActionKeep, "newer than "+refName+" but "+f.Skipped+": fix it or archive it by hand"
		case live != nil:
			f.Action, f.Reason = ActionKeep, "neither newer nor older than "+refName+" by the dates in the names or the modification times, and "+f.Skipped+": compare them (vllmctl diff) and archive one by hand"
		case len(tied) > 0:
			f.Action, f.Reason = ActionKeep, "the group has no live file (tie); decide that first"
		default:
			f.Action, f.Reason = ActionKeep, "not proposed as live: "+f.Skipped
		}
	}
	return d
}

// newerThan tells whether a is newer than b by the same rules as newest.
func newerThan(a, b *entry) bool {
	if b.f.Kind == KindProfile {
		return false
	}
	win, rule, _ := newest([]*entry{a, b})
	return rule != RuleTie && win[0] == a
}

func others(all []string, me string) []string {
	var out []string
	for _, s := range all {
		if s != me {
			out = append(out, s)
		}
	}
	return out
}

// relate fills a file's relation and changes against the group's reference,
// and tells whether the two are the same config.
func relate(e, ref *entry, o Options) bool {
	ch := configdiff.Services(ref.svc, e.svc)
	// Show changes from this file to the reference: A = this file, B = reference.
	for k := range ch {
		ch[k].A, ch[k].B = ch[k].B, ch[k].A
		ch[k].ADefault, ch[k].BDefault = ch[k].BDefault, ch[k].ADefault
	}
	refName := ref.f.Path
	if ref.f.Kind == KindProfile {
		refName = "profile " + ref.f.Profile
	}
	if len(ch) == 0 {
		e.f.Relation = "same config as " + refName
		return true
	}
	verb := "earlier version of"
	switch {
	case ref.f.Kind == KindProfile || newerThan(ref, e) || e.f.Kind == KindArchived && !ref.f.Kind.retired():
	case newerThan(e, ref):
		verb = "newer variant of"
	default:
		verb = "variant of" // neither date nor mtime tells which came first
	}
	e.f.Relation = fmt.Sprintf("%s %s (%d change(s))", verb, refName, len(ch))
	if len(ch) > o.MaxChanges {
		ch = ch[:o.MaxChanges]
	}
	e.f.Changes = ch
	return false
}

// loose decides for a file in no group: the base file, and files without a
// vLLM engine.
func loose(e *entry) {
	f := &e.f
	switch {
	case f.Kind == KindBase:
		f.Relation, f.Action, f.Reason = "base file merged under every profile", ActionKeep, "base file"
	case f.broken:
		f.Relation = "does not load (run vllmctl check --file " + f.Path + ")"
		f.Action, f.Reason = ActionArchive, "compose cannot load it"
		if e.retiredDir != "" {
			f.Action, f.Reason = ActionKeep, "already archived"
		}
	default:
		f.Relation = "no vLLM service"
		f.Action, f.Reason = ActionKeep, "not a vLLM config: left as it is"
		if e.retiredDir != "" {
			f.Reason = "already archived"
		}
	}
}

// sameFlags tells whether a running command line is this service's engine
// command, by meaning (normalised flags, defaults explicit).
func sameFlags(svc *project.Service, argv []string) bool {
	other := &project.Service{Args: vllm.Parse(argv)}
	if svc.Version.Pin == flagdb.Pinned {
		other.Args.AtRelease(svc.Version.Version) // the same release's defaults
	}
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

// Package build turns the per-release flag transcriptions in flagdb/sources into the Go
// source of flagdb's table (flags_gen.go). It is used by flagdb/gen and by flagdb's
// staleness test; nothing else imports it.
package build

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// version is a vLLM release: major.minor.patch.
type version [3]int

func (v version) less(o version) bool {
	for i := range v {
		if v[i] != o[i] {
			return v[i] < o[i]
		}
	}
	return false
}

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

func (v version) goLit() string {
	if v == (version{}) {
		return "Version{}"
	}
	return fmt.Sprintf("Version{%d, %d, %d}", v[0], v[1], v[2])
}

func parseVersion(s string) (version, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return version{}, false
	}
	var v version
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return version{}, false
		}
		v[i] = n
	}
	return v, true
}

// row is one flag as one page shows it.
type row struct {
	name     string // canonical: no dashes
	aliases  []string
	kind     string // bool, negbool, value, multi, json
	choices  []string
	deflt    string
	note     string
	subkeys  []string
	section  string
	complete bool // its section is shown whole on this page
	page     int
}

type absence struct{ name, reason string }

type release struct {
	v        version
	file     string
	pages    []string
	rows     []row
	absent   []absence
	sections map[string]bool // sections shown whole
}

// Canonical returns a flag name without leading dashes, '_' turned into '-'.
func Canonical(flag string) string {
	return strings.ReplaceAll(strings.TrimLeft(flag, "-"), "_", "-")
}

func parseFile(name string, data []byte) (*release, error) {
	r := &release{file: name, sections: map[string]bool{}}
	var section string
	var complete bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	ln := 0
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", name, ln, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		ln++
		line := strings.TrimRight(sc.Text(), " \r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") {
			key, rest, _ := strings.Cut(line, " ")
			switch key {
			case "@release":
				v, ok := parseVersion(rest)
				if !ok {
					return nil, fail("bad release %q: want major.minor.patch", rest)
				}
				if want := strings.TrimSuffix(name, ".txt"); want != rest {
					return nil, fail("release %s does not match the file name %s", rest, name)
				}
				r.v = v
			case "@retrieved", "@coverage":
			case "@page":
				if !strings.HasPrefix(rest, "https://") {
					return nil, fail("@page needs an https URL, got %q", rest)
				}
				r.pages = append(r.pages, rest)
				section, complete = "", false
			case "@section":
				f := strings.Fields(rest)
				if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "complete") {
					return nil, fail("want `@section NAME [complete]`, got %q", line)
				}
				section, complete = f[0], len(f) == 2
				if complete {
					r.sections[section] = true
				}
			case "@absent":
				flag, reason, ok := strings.Cut(rest, "\t")
				if !ok || strings.TrimSpace(reason) == "" {
					return nil, fail("@absent needs a flag, a tab and a reason")
				}
				r.absent = append(r.absent, absence{Canonical(flag), reason})
			default:
				return nil, fail("unknown directive %s", key)
			}
			continue
		}
		if len(r.pages) == 0 {
			return nil, fail("flag row before any @page")
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 6 || len(cols) > 7 {
			return nil, fail("want 6 or 7 tab-separated columns, got %d", len(cols))
		}
		for i := range cols {
			if cols[i] == "-" {
				cols[i] = ""
			}
		}
		if !strings.HasPrefix(cols[0], "--") {
			return nil, fail("flag %q must start with --", cols[0])
		}
		switch cols[2] {
		case "bool", "negbool", "value", "multi", "json":
		default:
			return nil, fail("unknown kind %q", cols[2])
		}
		rw := row{name: Canonical(cols[0]), kind: cols[2], deflt: cols[4], note: cols[5],
			section: section, complete: complete, page: len(r.pages) - 1}
		if cols[1] != "" {
			rw.aliases = strings.Split(cols[1], ",")
		}
		if cols[3] != "" {
			rw.choices = strings.Split(cols[3], ",")
		}
		if len(cols) == 7 && cols[6] != "" {
			rw.subkeys = strings.Split(cols[6], ",")
		}
		r.rows = append(r.rows, rw)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if r.v == (version{}) {
		return nil, fmt.Errorf("%s:1: missing @release line", name)
	}
	if len(r.pages) == 0 {
		return nil, fmt.Errorf("%s:1: no @page line", name)
	}
	return r, nil
}

type state int

const (
	unknown state = iota
	present
	absent
)

type entry struct {
	name                string
	aliases             []string
	kind                string
	negatable           bool
	deflt               string
	note                string
	subkeys             []string
	firstSeen, lastSeen version
	added, absentBefore version
	deprecated, removed version
	choices             []choiceAt
	removedWhy          string
}

type choiceAt struct {
	v       version
	choices []string
}

// Generate reads every sources/*.txt file in fsys and returns the formatted Go source of
// flags_gen.go.
func Generate(fsys fs.FS) ([]byte, error) {
	names, err := fs.Glob(fsys, "*.txt")
	if err != nil {
		return nil, err
	}
	var rels []*release
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		r, err := parseFile(path.Base(n), data)
		if err != nil {
			return nil, err
		}
		rels = append(rels, r)
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("no *.txt source files found")
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].v.less(rels[j].v) })
	return render(rels, merge(rels))
}

func merge(rels []*release) []*entry {
	// Which section each flag was seen in, on any release.
	sectionOf := map[string]map[string]bool{}
	byName := map[string]*entry{}
	for _, r := range rels {
		for _, rw := range r.rows {
			if rw.section != "" {
				if sectionOf[rw.name] == nil {
					sectionOf[rw.name] = map[string]bool{}
				}
				sectionOf[rw.name][rw.section] = true
			}
			if byName[rw.name] == nil {
				byName[rw.name] = &entry{name: rw.name}
			}
		}
	}
	var out []*entry
	for name, e := range byName {
		states := make([]state, len(rels))
		for i, r := range rels {
			for _, rw := range r.rows {
				if rw.name == name {
					states[i] = present
				}
			}
			if states[i] == present {
				continue
			}
			for _, a := range r.absent {
				if a.name == name {
					states[i] = absent
				}
			}
			for s := range sectionOf[name] {
				if r.sections[s] {
					states[i] = absent
				}
			}
		}
		first, last := -1, -1
		for i, s := range states {
			if s == present {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		e.firstSeen, e.lastSeen = rels[first].v, rels[last].v
		for i := first - 1; i >= 0; i-- {
			if states[i] == absent {
				e.added, e.absentBefore = rels[first].v, rels[i].v
				break
			}
		}
		for i := last + 1; i < len(rels); i++ {
			if states[i] == absent {
				e.removed = rels[i].v
				break
			}
		}
		// Attributes: the newest page that shows them wins.
		aliases := map[string]bool{}
		for i, r := range rels {
			for _, rw := range r.rows {
				if rw.name != name {
					continue
				}
				for _, a := range rw.aliases {
					aliases[a] = true
				}
				e.kind = rw.kind
				if rw.deflt != "" {
					e.deflt = rw.deflt
				}
				if len(rw.subkeys) > 0 {
					e.subkeys = rw.subkeys
				}
				if note, ok := strings.CutPrefix(rw.note, "deprecated: "); ok {
					if e.deprecated == (version{}) {
						e.deprecated = rels[i].v
					}
					e.note = "deprecated: " + note + " (" + rels[i].v.String() + ")"
				}
				if len(rw.choices) > 0 {
					e.choices = append(e.choices, choiceAt{rels[i].v, rw.choices})
				}
			}
		}
		e.aliases = append(e.aliases, slices.Sorted(maps.Keys(aliases))...)
		if e.kind == "negbool" {
			e.kind, e.negatable = "bool", true
		}
		if e.removed != (version{}) {
			e.removedWhy = whyAbsent(rels, e.removed, name, sectionOf[name])
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// whyAbsent says why the table holds name missing from release v.
func whyAbsent(rels []*release, v version, name string, sections map[string]bool) string {
	for _, r := range rels {
		if r.v != v {
			continue
		}
		for _, a := range r.absent {
			if a.name == name {
				return a.reason
			}
		}
		for _, s := range slices.Sorted(maps.Keys(sections)) {
			if r.sections[s] {
				return "missing from the " + s + " section, which " + v.String() + "'s page shows whole"
			}
		}
	}
	return ""
}

var kindLit = map[string]string{"bool": "Bool", "value": "Value", "multi": "Multi", "json": "JSON"}

func strs(ss []string) string {
	if len(ss) == 0 {
		return "nil"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func render(rels []*release, entries []*entry) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by go run ./internal/vllm/flagdb/gen; DO NOT EDIT.\n\n")
	b.WriteString("package flagdb\n\n")
	b.WriteString("// releases lists the releases the table covers, oldest first, with the pages read for each.\n")
	b.WriteString("var releases = []Release{\n")
	for _, r := range rels {
		fmt.Fprintf(&b, "\t{Version: %s, Source: %q},\n", r.v.goLit(), strings.Join(r.pages, " "))
	}
	b.WriteString("}\n\n")
	b.WriteString("// entries lists every flag seen on any page, sorted by name.\n")
	b.WriteString("var entries = []Entry{\n")
	for _, e := range entries {
		note := e.note
		if e.removed != (version{}) {
			if note != "" {
				note += "; "
			}
			note += "gone in " + e.removed.String() + ": " + e.removedWhy
		}
		fmt.Fprintf(&b, "\t{Name: %q, Aliases: %s, Kind: %s, Negatable: %t, Default: %q, Subkeys: %s,\n",
			e.name, strs(e.aliases), kindLit[e.kind], e.negatable, e.deflt, strs(e.subkeys))
		fmt.Fprintf(&b, "\t\tFirstSeen: %s, LastSeen: %s, Added: %s, AbsentBefore: %s, Deprecated: %s, Removed: %s,\n",
			e.firstSeen.goLit(), e.lastSeen.goLit(), e.added.goLit(), e.absentBefore.goLit(), e.deprecated.goLit(), e.removed.goLit())
		fmt.Fprintf(&b, "\t\tNote: %q},\n", note)
	}
	b.WriteString("}\n\n")
	b.WriteString("// choiceTable holds each closed choice list with the release whose page showed it, oldest first.\n")
	b.WriteString("var choiceTable = map[string][]choiceAt{\n")
	for _, e := range entries {
		if len(e.choices) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\t%q: {\n", e.name)
		for _, c := range e.choices {
			fmt.Fprintf(&b, "\t\t{%s, %s},\n", c.v.goLit(), strs(c.choices))
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the generated table: %w", err)
	}
	return src, nil
}

// Package flagdb is a versioned table of `vllm serve` flags, built from vLLM's published
// engine-argument and CLI pages and from whole argument parsers read from vLLM's source, one
// transcription per release in sources/. It answers
// whether a flag exists, is deprecated or is gone in a given vLLM release, and which values a
// flag with a closed choice list accepts there. It also reads the vLLM release from an image
// reference.
//
// The package is pure data and lookup: no network, no files at run time, and it imports
// nothing from this module. Deciding whether a finding is an error or a warning is the
// caller's job.
//
// The stored page copies hold only the first ~2,000 characters of each page, so a release
// known only from pages has a partial flag list: a flag its pages do not show is unknown there,
// not absent. Releases whose EngineArgs parser was read whole from source (0.7.2 and 0.11.1,
// each dated to a bracket of releases and filed under its lower bound; see sources/README.md)
// list every engine flag. Added, Removed and NotYetAdded are reported only where a page
// shows the flag missing (a section shown whole, or an explicit note in sources/). Flags the
// table never saw are Unrecorded; callers should fall back to their own knowledge for them.
//
// Regenerate flags_gen.go after editing sources/ with `go generate ./internal/vllm/flagdb`.
package flagdb

//go:generate go run ./gen

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Version is a vLLM release. A fourth part or suffix is dropped: 0.10.1.1 is 0.10.1.
type Version struct{ Major, Minor, Patch int }

// ParseVersion reads a vLLM version: "v0.10.1.1", "0.11.0", "0.27.1rc1", "v0.27.1-ubuntu2404",
// "0.6.3.post1". Anything after major.minor[.patch] that is not a fourth number, rcN, postN,
// devN or a '-'/'+' suffix makes it fail.
func ParseVersion(s string) (Version, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	var nums [3]int
	i := 0
	for part := 0; part < 4; part++ {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j-i > 6 {
			if part < 2 {
				return Version{}, false
			}
			break
		}
		n, _ := strconv.Atoi(s[i:j])
		if part < 3 {
			nums[part] = n
		}
		i = j
		if i < len(s) && s[i] == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			i++
			continue
		}
		if part < 1 {
			return Version{}, false
		}
		break
	}
	rest := s[i:]
	switch {
	case rest == "":
	case rest[0] == '-' || rest[0] == '+':
	default:
		r := strings.TrimPrefix(rest, ".")
		ok := false
		for _, p := range []string{"rc", "post", "dev", "a", "b"} {
			if tail, cut := strings.CutPrefix(r, p); cut && isDigits(tail) {
				ok = true
			}
		}
		if !ok {
			return Version{}, false
		}
	}
	return Version{nums[0], nums[1], nums[2]}, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// String gives "0.10.1"; the zero Version gives "".
func (v Version) String() string {
	if v.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Less reports whether v is an older release than o.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// IsZero reports whether v is the zero Version (no release).
func (v Version) IsZero() bool { return v == Version{} }

// Pin says whether an image reference names a vLLM release.
type Pin int

const (
	// Unpinned: latest, nightly, a branch, a digest, a custom or vendor tag.
	Unpinned Pin = iota
	// Pinned: the tag names a vLLM release.
	Pinned
)

// ImageVersion reads the vLLM release from an image reference or a Dockerfile FROM value:
// "vllm/vllm-openai:v0.10.1.1", "vllm/vllm-openai:v0.27.1-ubuntu2404",
// "rocm/vllm:rocm6.4.1_vllm_0.10.1_20250909" and "vllm/vllm-openai-rocm:v0.10.0" are Pinned.
// "latest", "nightly", "main", "gemma4-cu130", digests and tags whose numbers are not vLLM
// releases (NVIDIA NGC's "nvcr.io/nvidia/vllm:26.01-py3": no documented NGC-to-vLLM mapping
// was found) give the zero Version and Unpinned.
func ImageVersion(ref string) (Version, Pin) {
	f := strings.Fields(ref)
	ref = ""
	for _, w := range f { // FROM [--platform=...] image [AS name]
		if !strings.HasPrefix(w, "--") {
			ref = w
			break
		}
	}
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i] // a digest pins bytes, not a release we can read
	}
	slash := strings.LastIndexByte(ref, '/')
	colon := strings.LastIndexByte(ref, ':')
	if colon <= slash {
		return Version{}, Unpinned
	}
	repo, tag := strings.ToLower(ref[:colon]), ref[colon+1:]
	if strings.HasPrefix(repo, "nvcr.io/") {
		return Version{}, Unpinned
	}
	if len(tag) > 0 && (tag[0] == 'v' || (tag[0] >= '0' && tag[0] <= '9')) {
		if v, ok := ParseVersion(tag); ok && v.Major == 0 {
			return v, Pinned
		}
		return Version{}, Unpinned
	}
	// Vendor tags that embed the release: rocm6.4.1_vllm_0.10.1_20250909.
	lower := strings.ToLower(tag)
	for _, mark := range []string{"_vllm_", "-vllm-", "_vllm-", "-vllm_"} {
		if i := strings.Index(lower, mark); i >= 0 {
			rest := tag[i+len(mark):]
			if j := strings.IndexByte(rest, '_'); j >= 0 {
				rest = rest[:j]
			}
			if v, ok := ParseVersion(rest); ok && v.Major == 0 {
				return v, Pinned
			}
		}
	}
	return Version{}, Unpinned
}

// Release is one vLLM release in the table and the pages read for it (space-separated URLs).
type Release struct {
	Version Version
	Source  string
}

// Kind says how a flag takes its value.
type Kind int

const (
	// Value flags take one value.
	Value Kind = iota
	// Bool flags take none; Negatable ones also accept --no-<name>.
	Bool
	// Multi flags take one or more values.
	Multi
	// JSON flags take a JSON object, or dotted keys (--flag.key value, -O.mode=0).
	JSON
)

// Entry is what the table knows of one flag across releases.
type Entry struct {
	Name      string   // canonical: no dashes, words joined by '-'
	Aliases   []string // short spellings with their dash, e.g. "-asc", "-O"
	Kind      Kind
	Negatable bool     // accepts --no-<Name>
	Default   string   // default on the newest page that shows one, "" when none shown
	Subkeys   []string // dotted keys of a JSON flag seen on a page

	// FirstSeen and LastSeen are the oldest and newest releases whose pages show the flag.
	FirstSeen, LastSeen Version
	// Added is FirstSeen when a page of an older release shows the flag missing (the newest
	// such release is AbsentBefore); zero when the table cannot tell.
	Added, AbsentBefore Version
	// Deprecated is the first release whose page marks the flag deprecated; zero if none.
	Deprecated Version
	// Removed is the first release after LastSeen whose page shows the flag missing; zero if none.
	Removed Version
	Note    string // why deprecated or removed, from the pages
}

// choiceAt is a closed choice list as the page of release V shows it.
type choiceAt struct {
	V       Version
	Choices []string
}

var (
	byName  = map[string]int{}
	byAlias = map[string]int{}
)

func init() {
	for i, e := range entries {
		byName[e.Name] = i
		for _, a := range e.Aliases {
			byAlias[a] = i
		}
	}
}

// Newest returns the newest release in the table.
func Newest() Version { return releases[len(releases)-1].Version }

// Releases returns the releases in the table, oldest first.
func Releases() []Release { return append([]Release(nil), releases...) }

// Entries returns every flag in the table, sorted by name.
func Entries() []Entry { return append([]Entry(nil), entries...) }

// lookup finds a flag by any spelling and says whether it was the --no- form.
func lookup(name string) (Entry, bool, bool) {
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	if strings.HasPrefix(name, "-") && !strings.HasPrefix(name, "--") {
		short := name
		if i := strings.IndexByte(short, '.'); i >= 0 {
			short = short[:i] // -O.mode
		}
		if i, ok := byAlias[short]; ok {
			return entries[i], false, true
		}
		if strings.HasPrefix(short, "-O") && isDigits(short[2:]) { // -O3
			if i, ok := byAlias["-O"]; ok {
				return entries[i], false, true
			}
		}
		return Entry{}, false, false
	}
	n := strings.ReplaceAll(strings.TrimLeft(name, "-"), "_", "-")
	if i, ok := byName[n]; ok {
		return entries[i], false, true
	}
	if base, _, dotted := strings.Cut(n, "."); dotted { // --compilation-config.mode
		if i, ok := byName[base]; ok && entries[i].Kind == JSON {
			return entries[i], false, true
		}
	}
	if rest, cut := strings.CutPrefix(n, "no-"); cut {
		if i, ok := byName[rest]; ok && entries[i].Negatable {
			return entries[i], true, true
		}
	}
	return Entry{}, false, false
}

// Lookup finds a flag by any spelling: "--max_model_len", "max-model-len", "--port=8000",
// "-asc", "-O.mode", "--compilation-config.backend", "--no-enable-log-requests". Negated tells
// whether a spelling is the --no- form.
func Lookup(name string) (Entry, bool) {
	e, _, ok := lookup(name)
	return e, ok
}

// Negated reports whether name is the --no-<flag> form of a negatable flag in the table.
func Negated(name string) bool {
	_, neg, ok := lookup(name)
	return ok && neg
}

// Availability says what the table knows of a flag in one release.
type Availability int

const (
	// Available: shown on a page of that release, or not known to be missing there.
	Available Availability = iota
	// DeprecatedAt: exists but deprecated in that release.
	DeprecatedAt
	// NotYetAdded: a page of that release (or a newer one before Added) shows it missing.
	NotYetAdded
	// RemovedAt: gone in that release.
	RemovedAt
	// Unrecorded: on no page the table was built from.
	Unrecorded
)

func (a Availability) String() string {
	switch a {
	case Available:
		return "available"
	case DeprecatedAt:
		return "deprecated"
	case NotYetAdded:
		return "not yet added"
	case RemovedAt:
		return "removed"
	}
	return "unrecorded"
}

// judged is the release At and Choices reason about: Newest() when unpinned or newer.
func judged(v Version, pin Pin) Version {
	if pin == Unpinned || v.IsZero() || Newest().Less(v) {
		return Newest()
	}
	return v
}

// At says whether flag name exists in release v. With pin Unpinned, or v newer than Newest(),
// it judges against Newest(); callers should then only warn.
func At(name string, v Version, pin Pin) (Availability, Entry) {
	e, ok := Lookup(name)
	if !ok {
		return Unrecorded, Entry{}
	}
	v = judged(v, pin)
	switch {
	case !e.Removed.IsZero() && !v.Less(e.Removed):
		return RemovedAt, e
	case !e.AbsentBefore.IsZero() && !e.AbsentBefore.Less(v):
		return NotYetAdded, e
	case !e.Deprecated.IsZero() && !v.Less(e.Deprecated):
		return DeprecatedAt, e
	}
	return Available, e
}

// Choices returns the closed choice list of flag name at release v (Newest() when unpinned):
// the list from the newest page at or before v that shows one. ok is false when the flag takes
// free values, or no page at or before v shows its list.
func Choices(name string, v Version, pin Pin) ([]string, bool) {
	e, ok := Lookup(name)
	if !ok {
		return nil, false
	}
	v = judged(v, pin)
	list := choiceTable[e.Name]
	i := sort.Search(len(list), func(i int) bool { return v.Less(list[i].V) })
	if i == 0 {
		return nil, false
	}
	return append([]string(nil), list[i-1].Choices...), true
}

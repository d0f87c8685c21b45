// Package archive retires config files into dated folders
// (archived/docker_configs_YYYYMMDD/) with a MANIFEST.json and a readable
// MANIFEST.md: original path, sha256, size, reason, note, date and profile.
// Moves are crash-safe: at every instant each file exists whole in its
// original place or in the archive (both, for a moment), and the manifest
// never lists a file that is not there. An interrupted run is completed by
// Recover, which every operation calls first.
package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vllmctl/vllmctl/internal/atomicfile"
)

// Prefix of the dated folders (the operators' convention).
const Prefix = "docker_configs_"

// Entry is one archived file.
type Entry struct {
	File     string    `json:"file"`     // path inside the dated folder: the original's path relative to the root, '/'-separated
	Original string    `json:"original"` // path it came from, relative to the project root
	SHA256   string    `json:"sha256"`
	Size     int64     `json:"size"`
	Reason   string    `json:"reason"`
	Note     string    `json:"note,omitempty"`
	Date     time.Time `json:"date"`
	Profile  string    `json:"profile,omitempty"`
}

// Manifest is a dated folder's MANIFEST.json.
type Manifest struct {
	Entries []Entry `json:"entries"`
}

// Archive is one dated folder.
type Archive struct {
	Name    string    `json:"name"` // docker_configs_YYYYMMDD
	Path    string    `json:"path"` // relative to the root
	Date    time.Time `json:"date"`
	Entries []Entry   `json:"entries"`
}

// Store is the archive folder of a project.
type Store struct {
	Root string // project root, absolute
	Dir  string // archive folder relative to the root (default "archived")
	// Hook, when set, is called at each step of a move: tests kill the process there.
	Hook func(step string)
	// WriteFile writes every file the archive writes (copies, manifests,
	// restored files): tests inject a full disk there. Default: atomicfile.WriteFile.
	WriteFile func(path string, data []byte, perm os.FileMode) error
}

func (s Store) hook(step string) {
	if s.Hook != nil {
		s.Hook(step)
	}
}

func (s Store) write(path string, data []byte, perm os.FileMode) error {
	if s.WriteFile != nil {
		return s.WriteFile(path, data, perm)
	}
	return atomicfile.WriteFile(path, data, perm)
}

// full adds what to do when err is a full disk (or quota), else nothing.
func full(err error, where string) string {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return "; the disk is full: free space on the disk that holds " + where + " and run the command again"
	}
	return ""
}

func (s Store) abs(rel string) string { return filepath.Join(s.Root, filepath.FromSlash(rel)) }

// Folder returns the dated folder for a day, relative to the root.
func (s Store) Folder(day time.Time) string {
	return filepath.ToSlash(filepath.Join(s.Dir, Prefix+day.Format("20060102")))
}

// Request is one file to archive.
type Request struct {
	Path    string // relative to the root or absolute
	Profile string
}

// Move archives files with a reason. dryRun reports what would happen.
func (s Store) Move(reqs []Request, reason, note string, now time.Time, dryRun bool) ([]Entry, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, errors.New("--reason is required: say why the file is retired")
	}
	if _, err := s.Recover(); err != nil {
		return nil, err
	}
	folder := s.Folder(now)
	var done []Entry
	for _, r := range reqs {
		src := r.Path
		if !filepath.IsAbs(src) {
			src = s.abs(src)
		}
		rel, err := filepath.Rel(s.Root, src)
		if err != nil || strings.HasPrefix(rel, "..") {
			return done, fmt.Errorf("%s is outside the project %s", r.Path, s.Root)
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, s.Dir+"/") {
			return done, fmt.Errorf("%s is already in the archive", rel)
		}
		sum, size, err := hashFile(src)
		if err != nil {
			return done, fmt.Errorf("archive %s: %w", rel, err)
		}
		m, _ := s.manifest(folder)
		name := uniqueName(m, rel, sum) // the folder structure is kept: sub/x.yml → docker_configs_DATE/sub/x.yml
		e := Entry{File: name, Original: rel, SHA256: sum, Size: size, Reason: reason, Note: note, Date: now.UTC(), Profile: r.Profile}
		if dryRun {
			done = append(done, e)
			continue
		}
		if err := s.moveOne(folder, src, e); err != nil {
			return done, err
		}
		done = append(done, e)
	}
	return done, nil
}

// moveOne: copy (temp, fsync, rename) → verify → MANIFEST.json (temp, fsync,
// rename: the move is committed) → MANIFEST.md → remove original. A failure
// before the commit removes the copy and leaves the original untouched.
func (s Store) moveOne(folder, src string, e Entry) error {
	dst := filepath.Join(s.abs(folder), filepath.FromSlash(e.File))
	s.hook("start")
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := s.write(dst, data, 0o644); err != nil {
		return fmt.Errorf("copy %s into the archive: %w; nothing was moved, %s is untouched%s", e.Original, err, e.Original, full(err, folder))
	}
	s.hook("copied")
	if sum, _, err := hashFile(dst); err != nil || sum != e.SHA256 {
		os.Remove(dst)
		return fmt.Errorf("archive copy of %s does not match its sha256; the original is untouched", e.Original)
	}
	m, err := s.manifest(folder)
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("%w; nothing was moved, %s is untouched", err, e.Original)
	}
	m.Entries = append(m.Entries, e)
	sortEntries(m)
	if err := s.write(filepath.Join(s.abs(folder), "MANIFEST.json"), manifestJSON(m), 0o644); err != nil {
		os.Remove(dst) // no manifest lists it: the copy is dropped
		return fmt.Errorf("write %s/MANIFEST.json: %w; nothing was moved, %s is untouched%s", folder, err, e.Original, full(err, folder))
	}
	s.hook("manifest")
	// Committed: MANIFEST.json lists the copy. MANIFEST.md is its readable
	// twin; when it cannot be written the move still completes, and Recover
	// rewrites it.
	mdErr := s.write(filepath.Join(s.abs(folder), "MANIFEST.md"), []byte(markdown(folder, m)), 0o644)
	if err := os.Remove(src); err != nil {
		return fmt.Errorf("remove %s after archiving: %w (the archive copy is complete)", e.Original, err)
	}
	s.hook("removed")
	if mdErr != nil {
		return fmt.Errorf("%s is archived (MANIFEST.json lists it), but %s/MANIFEST.md could not be written: %w%s; the next archive command writes it again", e.Original, folder, mdErr, full(mdErr, folder))
	}
	return nil
}

func uniqueName(m Manifest, base, sum string) string {
	name := base
	ext := path.Ext(base)
	for i := 2; ; i++ {
		clash := false
		for _, e := range m.Entries {
			if e.File == name && e.SHA256 != sum {
				clash = true
			}
		}
		if !clash {
			return name
		}
		name = strings.TrimSuffix(base, ext) + "-" + strconv.Itoa(i) + ext
	}
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func (s Store) manifest(folder string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(s.abs(folder), "MANIFEST.json"))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s/MANIFEST.json: %w", folder, err)
	}
	return m, nil
}

func sortEntries(m Manifest) {
	sort.SliceStable(m.Entries, func(i, j int) bool { return m.Entries[i].File < m.Entries[j].File })
}

func manifestJSON(m Manifest) []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

func markdown(folder string, m Manifest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Archive %s\n\nWritten by `vllmctl archive`; MANIFEST.json is the machine-readable copy.\n\n", filepath.Base(folder))
	b.WriteString("| file | original | profile | reason | note | date | size | sha256 |\n|---|---|---|---|---|---|---|---|\n")
	for _, e := range m.Entries {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d | `%s` |\n", e.File, e.Original, e.Profile, cell(e.Reason), cell(e.Note),
			e.Date.Format("2006-01-02"), e.Size, e.SHA256[:12])
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

// Recover completes or undoes interrupted moves: temporary files are removed,
// a file listed in a manifest whose original still exists with the same
// content is removed from its original place (the move is finished), and an
// archive copy no manifest lists while its original exists is dropped (the
// move is rolled back). It returns what it did.
func (s Store) Recover() ([]string, error) {
	var did []string
	folders, _ := filepath.Glob(filepath.Join(s.abs(s.Dir), Prefix+"*"))
	for _, f := range folders {
		files := filesUnder(f)
		for _, rel := range files {
			if base := path.Base(rel); strings.HasPrefix(base, ".") && strings.Contains(base, ".tmp-") {
				os.Remove(filepath.Join(f, filepath.FromSlash(rel)))
				did = append(did, "removed temporary "+rel)
			}
		}
		folder, _ := filepath.Rel(s.Root, f)
		folder = filepath.ToSlash(folder)
		m, err := s.manifest(folder)
		if err != nil {
			return did, err
		}
		if _, err := os.Stat(filepath.Join(f, "MANIFEST.json")); err == nil {
			md := []byte(markdown(folder, m))
			if old, err := os.ReadFile(filepath.Join(f, "MANIFEST.md")); err != nil || !bytes.Equal(old, md) {
				if err := s.write(filepath.Join(f, "MANIFEST.md"), md, 0o644); err != nil {
					return did, fmt.Errorf("write %s/MANIFEST.md: %w%s", folder, err, full(err, folder))
				}
				did = append(did, "rewrote "+folder+"/MANIFEST.md")
			}
		}
		listed := map[string]bool{"MANIFEST.json": true, "MANIFEST.md": true}
		for _, e := range m.Entries {
			listed[e.File] = true
			orig := s.abs(e.Original)
			if sum, _, err := hashFile(orig); err == nil && sum == e.SHA256 {
				if asum, _, err := hashFile(filepath.Join(f, filepath.FromSlash(e.File))); err == nil && asum == e.SHA256 {
					os.Remove(orig)
					did = append(did, "finished moving "+e.Original)
				}
			}
		}
		for _, rel := range filesUnder(f) {
			if listed[rel] {
				continue
			}
			// Not in the manifest: an interrupted copy. Drop it only when an
			// original with the same content still exists somewhere we know.
			p := filepath.Join(f, filepath.FromSlash(rel))
			sum, _, _ := hashFile(p)
			if s.originalExists(rel, sum) {
				os.Remove(p)
				did = append(did, "rolled back copy "+rel)
			}
		}
	}
	return did, nil
}

// filesUnder lists the files of a dated folder, subfolders included, as
// '/'-separated paths relative to it.
func filesUnder(folder string) []string {
	var out []string
	_ = filepath.WalkDir(folder, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if rel, err := filepath.Rel(folder, p); err == nil {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// originalExists looks for the original of an archived copy at rel (its path
// inside the dated folder): at that path under the root, else a file of the
// same base name and content anywhere in the project outside the archive folder.
func (s Store) originalExists(rel, sum string) bool {
	if h, _, err := hashFile(s.abs(rel)); err == nil && h == sum {
		return true
	}
	base := path.Base(rel)
	found := false
	_ = filepath.WalkDir(s.Root, func(p string, d os.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipDir
		}
		if d.IsDir() && (p == s.abs(s.Dir) || d.Name() == ".git" || d.Name() == ".vllmctl") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == base {
			if h, _, err := hashFile(p); err == nil && h == sum {
				found = true
			}
		}
		return nil
	})
	return found
}

// List returns the dated folders, oldest first, with their manifests.
func (s Store) List() ([]Archive, error) {
	folders, _ := filepath.Glob(filepath.Join(s.abs(s.Dir), Prefix+"*"))
	sort.Strings(folders)
	var out []Archive
	for _, f := range folders {
		name := filepath.Base(f)
		day, err := time.Parse("20060102", strings.TrimPrefix(name, Prefix))
		if err != nil {
			continue
		}
		rel, _ := filepath.Rel(s.Root, f)
		m, err := s.manifest(filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		a := Archive{Name: name, Path: filepath.ToSlash(rel), Date: day, Entries: m.Entries}
		if len(m.Entries) == 0 { // an archive from before vllmctl: list its files
			for _, rel := range filesUnder(f) {
				a.Entries = append(a.Entries, Entry{File: rel, Reason: "(no manifest)"})
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// Find returns the archive named by a date (YYYYMMDD, YYYY-MM-DD or the folder name).
func (s Store) Find(date string) (Archive, error) {
	key := strings.ReplaceAll(strings.TrimPrefix(date, Prefix), "-", "")
	all, err := s.List()
	if err != nil {
		return Archive{}, err
	}
	for _, a := range all {
		if strings.TrimPrefix(a.Name, Prefix) == key {
			return a, nil
		}
	}
	return Archive{}, fmt.Errorf("no archive %s in %s (see 'vllmctl archive list')", date, s.Dir)
}

// Restore puts archived files back where they came from: every entry of a
// dated archive, or the entries whose file or original path is target. An
// existing file is overwritten only with force.
func (s Store) Restore(target string, force bool) ([]Entry, error) {
	if _, err := s.Recover(); err != nil {
		return nil, err
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var pick []struct {
		a Archive
		e Entry
	}
	if a, err := s.Find(target); err == nil {
		for _, e := range a.Entries {
			pick = append(pick, struct {
				a Archive
				e Entry
			}{a, e})
		}
	} else {
		t := filepath.ToSlash(target)
		// An exact path first; a bare name matches by base name only when no path does.
		for _, exact := range []bool{true, false} {
			for _, a := range all {
				for _, e := range a.Entries {
					if e.Original == "" {
						continue
					}
					if exact && (e.Original == t || a.Path+"/"+e.File == t || e.File == t) ||
						!exact && path.Base(e.File) == path.Base(t) {
						pick = append(pick, struct {
							a Archive
							e Entry
						}{a, e})
					}
				}
			}
			if len(pick) > 0 {
				break
			}
		}
	}
	if len(pick) == 0 {
		return nil, fmt.Errorf("nothing archived matches %q (see 'vllmctl archive list')", target)
	}
	var done []Entry
	for _, p := range pick {
		if p.e.Original == "" {
			return done, fmt.Errorf("%s/%s has no manifest entry: restore it by hand", p.a.Path, p.e.File)
		}
		dst := s.abs(p.e.Original)
		_, statErr := os.Stat(dst)
		existed := statErr == nil
		if existed && !force {
			return done, fmt.Errorf("%s exists: pass --force to overwrite it with the archived copy", p.e.Original)
		}
		src := filepath.Join(s.abs(p.a.Path), filepath.FromSlash(p.e.File))
		data, err := os.ReadFile(src)
		if err != nil {
			return done, err
		}
		if err := s.write(dst, data, 0o644); err != nil {
			return done, fmt.Errorf("restore %s: %w; the archived copy is kept in %s%s", p.e.Original, err, p.a.Path, full(err, p.e.Original))
		}
		m, _ := s.manifest(p.a.Path)
		var keep []Entry
		for _, e := range m.Entries {
			if e.File != p.e.File {
				keep = append(keep, e)
			}
		}
		m.Entries = keep
		sortEntries(m)
		if err := s.write(filepath.Join(s.abs(p.a.Path), "MANIFEST.json"), manifestJSON(m), 0o644); err != nil {
			// The manifest still lists the copy: undo the restore, or the next
			// Recover would take the restored file for an unfinished move.
			if !existed {
				os.Remove(dst)
			}
			return done, fmt.Errorf("write %s/MANIFEST.json: %w; %s was not restored, the archived copy is kept%s", p.a.Path, err, p.e.Original, full(err, p.a.Path))
		}
		mdErr := s.write(filepath.Join(s.abs(p.a.Path), "MANIFEST.md"), []byte(markdown(p.a.Path, m)), 0o644)
		os.Remove(src)
		for d := filepath.Dir(src); d != s.abs(p.a.Path) && strings.HasPrefix(d, s.abs(p.a.Path)); d = filepath.Dir(d) {
			if os.Remove(d) != nil { // a subfolder the move created, once empty
				break
			}
		}
		done = append(done, p.e)
		if mdErr != nil {
			return done, fmt.Errorf("%s is restored, but %s/MANIFEST.md could not be written: %w%s; the next archive command writes it again", p.e.Original, p.a.Path, mdErr, full(mdErr, p.a.Path))
		}
	}
	return done, nil
}

// ParseAge reads a retention such as 6mo, 2w, 30d, 1y, 36h.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		d      time.Duration
	}{{"mo", 30 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("age %q: want a number before %s", s, u.suffix)
			}
			return time.Duration(v) * u.d, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("age %q: use 6mo, 2w, 30d, 1y or a Go duration", s)
	}
	return d, nil
}

// Prune lists (and with yes deletes) archives older than age, except those
// whose files the deploy history references (by sha256).
func (s Store) Prune(age time.Duration, now time.Time, referenced map[string]bool, yes bool) (del, kept []Archive, err error) {
	all, err := s.List()
	if err != nil {
		return nil, nil, err
	}
	for _, a := range all {
		if now.Sub(a.Date) < age {
			continue
		}
		ref := false
		for _, e := range a.Entries {
			ref = ref || referenced[e.SHA256]
		}
		if ref {
			kept = append(kept, a)
			continue
		}
		del = append(del, a)
		if yes {
			if err := os.RemoveAll(s.abs(a.Path)); err != nil {
				return del, kept, err
			}
		}
	}
	return del, kept, nil
}

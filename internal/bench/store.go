package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/atomicfile"
)

// Store is the folder of stored results (.vllmctl/bench).
type Store struct {
	Dir string
}

// ErrNotFound: no stored result has the id.
var ErrNotFound = errors.New("no such benchmark")

// NewID is a result id that sorts by time: 20261207T041500Z-medium.
func NewID(now time.Time, profile string) string {
	return now.UTC().Format("20060102T150405Z") + "-" + profile
}

// Save writes r as <id>.json, atomically. It never replaces a stored result:
// when the id is taken (two runs in one second), r.ID gets a suffix (-2, -3…).
func (s Store) Save(r *Result) (string, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", err
	}
	base := r.ID
	var path string
	for n := 1; ; n++ {
		if n > 1 {
			r.ID = fmt.Sprintf("%s-%d", base, n)
		}
		path = filepath.Join(s.Dir, r.ID+".json")
		// reserve the name; the atomic write below replaces the empty file
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
		break
	}
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		_ = os.Remove(path)
		return "", err
	}
	return path, nil
}

// List returns the stored results without their samples, oldest first.
func (s Store) List() ([]Result, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		r, err := s.read(filepath.Join(s.Dir, e.Name()))
		if err != nil {
			return nil, err
		}
		for i := range r.Levels {
			r.Levels[i].Samples = nil
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Load reads a result by id, or by a prefix or suffix that names one result
// ("20261207T0415", "medium" for the latest of that profile is not taken:
// ids are explicit).
func (s Store) Load(id string) (*Result, error) {
	path := filepath.Join(s.Dir, id+".json")
	if _, err := os.Stat(path); err == nil {
		return s.read(path)
	}
	ents, _ := os.ReadDir(s.Dir)
	var match []string
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".json")
		if strings.HasSuffix(e.Name(), ".json") && strings.HasPrefix(name, id) {
			match = append(match, name)
		}
	}
	switch len(match) {
	case 1:
		return s.read(filepath.Join(s.Dir, match[0]+".json"))
	case 0:
		return nil, fmt.Errorf("%w %q in %s (vllmctl bench list shows the ids)", ErrNotFound, id, s.Dir)
	}
	return nil, fmt.Errorf("%q names %d benchmarks (%s): give more of the id", id, len(match), strings.Join(match, ", "))
}

func (s Store) read(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: the stored benchmark is damaged (%v): move it away", path, err)
	}
	return &r, nil
}

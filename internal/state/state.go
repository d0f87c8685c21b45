// Package state keeps the project's deploy state in its state folder
// (.vllmctl/, gitignored): every resolved compose file that was deployed, the
// deploy history with outcomes, and the lock that keeps two deploys apart.
// Every file it writes goes through the Store's redactor: no secret the
// project knows is stored in clear (the history masks them as ***, resolved
// compose files and process specs hold ${NAME} references, so they can be
// deployed again with the project's .env).
package state

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
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
)

// Store is a state folder.
type Store struct {
	Dir string // absolute
	// Redact masks the project's secrets in every file written, besides the
	// secret-named variables of the process environment (project.IsSecretName),
	// which are always masked. Default: nil, the environment's only.
	Redact *redact.Redactor
}

// redactor is what the Store masks: Redact and the environment's secrets.
func (s Store) redactor() *redact.Redactor {
	r := redact.New()
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && project.IsSecretName(k) {
			r.AddNamed(k, v)
		}
	}
	r.Merge(s.Redact)
	return r
}

// Outcome is how a deploy ended (or that it has not yet).
type Outcome string

// Outcomes of a deploy, as stored in the history. Ready, Failed, Timeout and
// Canceled are the monitor's (monitor.Outcome) under the same names.
const (
	Deploying  Outcome = "deploying"   // under way, or its vllmctl died
	Ready      Outcome = "ready"       // answered its probes
	Failed     Outcome = "failed"      // a fatal line, an exit, or an error before the watch
	Timeout    Outcome = "timeout"     // no progress for the stall timeout
	Canceled   Outcome = "canceled"    // the user stopped the watch
	RolledBack Outcome = "rolled-back" // a rollback record: the last good config deployed again
	Replaced   Outcome = "replaced"    // stopped because an alternative took its GPUs
)

// Record is one deploy.
type Record struct {
	ID         string    `json:"id"`
	Profile    string    `json:"profile"`
	Time       time.Time `json:"time"`
	Hash       string    `json:"config_hash"`
	File       string    `json:"file"` // resolved compose file, relative to the state folder
	Runtime    string    `json:"runtime"`
	Simulated  bool      `json:"simulated,omitempty"`
	Outcome    Outcome   `json:"outcome"`
	ReadySecs  float64   `json:"time_to_ready_seconds,omitempty"`
	Diagnosis  string    `json:"diagnosis,omitempty"`
	RollbackOf string    `json:"rollback_of,omitempty"`
	Sources    []Source  `json:"sources,omitempty"` // the files the config came from
	Trigger    string    `json:"trigger,omitempty"` // watchdog restart, on-demand start; "" for a user's up
	// Where the deploy runs, so that every later command finds it and the
	// watchdog can replay it: the runtime kind, the Compose CLI (docker), and
	// the simulator binary (process runtime under --simulate). Records written
	// before these fields existed are read from Runtime (see Record.Where).
	Kind      RuntimeKind `json:"runtime_kind,omitempty"`
	Compose   ComposeCLI  `json:"compose,omitempty"`
	SimBinary string      `json:"sim_binary,omitempty"`
	// Spec is the process runtime's stored command (ProcessSpec), relative to
	// the state folder; "" before it was recorded: deploys/process/<ID>.json.
	Spec string `json:"process_spec,omitempty"`
	// Replaced lists the alternative profiles this deploy stopped to run;
	// ReplacedBy, on a record of outcome "replaced", names the profile that
	// took this one's place.
	Replaced   []string `json:"replaced,omitempty"`
	ReplacedBy string   `json:"replaced_by,omitempty"`
	// ReplayOf is the deploy this one ran again (a watchdog restart, or an
	// alternative brought back after its replacement failed).
	ReplayOf string `json:"replay_of,omitempty"`
}

// RuntimeKind is the runtime a deploy runs on.
type RuntimeKind string

// Runtime kinds.
const (
	KindDocker  RuntimeKind = "docker"
	KindProcess RuntimeKind = "process"
)

// ComposeCLI is the Compose command a docker deploy was applied with.
type ComposeCLI string

// Compose CLIs.
const (
	ComposeV2 ComposeCLI = "v2" // docker compose
	ComposeV1 ComposeCLI = "v1" // docker-compose
)

// Where is the runtime a deploy runs on: enough to find it again.
type Where struct {
	Kind    RuntimeKind
	Compose ComposeCLI // docker only; "" when unknown
}

func (w Where) String() string {
	switch {
	case w.Kind == KindDocker && w.Compose == ComposeV1:
		return "docker (docker-compose)"
	case w.Kind == KindDocker && w.Compose == ComposeV2:
		return "docker (docker compose)"
	}
	return string(w.Kind)
}

// ParseRuntime reads a runtime's display name ("process", "docker (compose
// 2.29.2)", "docker (docker-compose 1.29.2)") as a Where; Kind is "" when the
// name is not one of these.
func ParseRuntime(name string) Where {
	switch {
	case name == "process":
		return Where{Kind: KindProcess}
	case strings.HasPrefix(name, "docker (docker-compose"):
		return Where{Kind: KindDocker, Compose: ComposeV1}
	case strings.HasPrefix(name, "docker (compose"):
		return Where{Kind: KindDocker, Compose: ComposeV2}
	case name == "docker" || strings.HasPrefix(name, "docker "):
		return Where{Kind: KindDocker}
	}
	return Where{}
}

// Where is the runtime the deploy ran on: its recorded kind and Compose CLI,
// or, for a record written before they were, what its Runtime name says.
func (r Record) Where() Where {
	if r.Kind != "" {
		return Where{Kind: r.Kind, Compose: r.Compose}
	}
	return ParseRuntime(r.Runtime)
}

// SpecPath is where the record's process command is stored, relative to the state folder.
func (r Record) SpecPath() string {
	if r.Spec != "" {
		return r.Spec
	}
	return processSpecRel(r.ID)
}

// Source is a file a deploy was made from, by content.
type Source struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

const historyFile = "history.json"

// ErrCorrupt marks a state file that cannot be read (truncated, not JSON).
var ErrCorrupt = errors.New("damaged state file")

// HistoryPath is the history file's absolute path.
func (s Store) HistoryPath() string { return filepath.Join(s.Dir, historyFile) }

// History returns all records, oldest first; profile filters when not "".
func (s Store) History(profile string) ([]Record, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, historyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var all []Record
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("%s: %w: %v (the file is damaged: move it away to start a new history, then deploy again with 'vllmctl up'; nothing was deleted)", s.HistoryPath(), ErrCorrupt, err)
	}
	if profile == "" {
		return all, nil
	}
	var out []Record
	for _, r := range all {
		if r.Profile == profile {
			out = append(out, r)
		}
	}
	return out, nil
}

// Put adds or replaces a record (by ID). Callers hold the lock.
func (s Store) Put(r Record) error {
	all, err := s.History("")
	if err != nil {
		return err
	}
	replaced := false
	for i := range all {
		if all[i].ID == r.ID {
			all[i], replaced = r, true
		}
	}
	if !replaced {
		all = append(all, r)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	b, _ := json.MarshalIndent(all, "", "  ")
	return atomicfile.WriteFile(filepath.Join(s.Dir, historyFile), s.redactor().Bytes(b), 0o644)
}

// SaveResolved writes a deploy's resolved compose file and returns its path
// relative to the state folder. A secret still in clear in data is written as
// a ${NAME} reference (Compose interpolates it from the environment or
// --env-file), or as *** when no variable holds it.
func (s Store) SaveResolved(profile, id string, data []byte) (string, error) {
	rel := ResolvedPath(profile, id)
	return rel, atomicfile.WriteFile(filepath.Join(s.Dir, filepath.FromSlash(rel)), s.ResolvedText(data), 0o644)
}

// ResolvedText is a resolved compose file as SaveResolved writes it: every
// secret the store knows as a reference to its variable.
func (s Store) ResolvedText(data []byte) []byte { return s.redactor().Refs(data) }

// ResolvedPath is where SaveResolved writes a deploy's resolved compose file,
// relative to the state folder.
func ResolvedPath(profile, id string) string {
	return filepath.ToSlash(filepath.Join("deploys", profile, id+".yml"))
}

// Abs turns a state-relative path into an absolute one.
func (s Store) Abs(rel string) string { return filepath.Join(s.Dir, filepath.FromSlash(rel)) }

// LastGood returns the latest ready deploy of a profile other than exclude.
func (s Store) LastGood(profile, excludeID string) (Record, bool) {
	hist, _ := s.History(profile)
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].Outcome == Ready && hist[i].ID != excludeID {
			return hist[i], true
		}
	}
	return Record{}, false
}

// Last returns the latest deploy of a profile.
func (s Store) Last(profile string) (Record, bool) {
	hist, _ := s.History(profile)
	if len(hist) == 0 {
		return Record{}, false
	}
	return hist[len(hist)-1], true
}

// Latest returns the latest record of a profile: false when there is none;
// an error (ErrCorrupt) when the history cannot be read.
func (s Store) Latest(profile string) (Record, bool, error) {
	hist, err := s.History(profile)
	if err != nil || len(hist) == 0 {
		return Record{}, false, err
	}
	return hist[len(hist)-1], true, nil
}

// NewID returns a deploy id that sorts by time.
func NewID(now time.Time, hash string) string {
	h := hash
	if len(h) > 8 {
		h = h[:8]
	}
	return now.UTC().Format("20060102T150405.000Z") + "-" + h
}

// SaveProcessSpec keeps what the process runtime ran for a deploy (JSON), for
// rollback. Secrets are written as ${KEY} references (the caller's, and any
// left in clear by the Store's redactor), expanded again when it is replayed.
func (s Store) SaveProcessSpec(id string, data []byte) error {
	return atomicfile.WriteFile(s.Abs(processSpecRel(id)), s.redactor().Refs(data), 0o600)
}

// ProcessSpec reads what SaveProcessSpec stored.
func (s Store) ProcessSpec(id string) ([]byte, error) {
	return os.ReadFile(s.Abs(processSpecRel(id)))
}

// processSpecRel is where SaveProcessSpec writes, relative to the state folder.
func processSpecRel(id string) string { return "deploys/process/" + id + ".json" }

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

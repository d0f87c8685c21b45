package promote

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
	"github.com/vllmctl/vllmctl/internal/state"
)

// Decision is what the gate decided.
type Decision string

// Outcome is how a promotion ended ("" while it is unfinished).
type Outcome string

// Decisions and outcomes of a promotion.
const (
	Keep     Decision = "keep"
	Rollback Decision = "rollback"

	Kept       Outcome = "kept"        // the candidate runs, the live profile's files are archived
	RolledBack Outcome = "rolled back" // the live profile runs again, the candidate's files are archived
	Recovered  Outcome = "recovered"   // finished by Recover after an interruption
	Failed     Outcome = "failed"      // neither could be made to run: see Reason
)

// Journal is a promotion's record, written before and after every step.
type Journal struct {
	ID        string    `json:"id"`
	Candidate string    `json:"candidate"`
	Live      string    `json:"live"`
	Started   time.Time `json:"started"`
	Steps     []Step    `json:"steps"`
	// Running is the profile believed to run after the last step: the live
	// profile, the candidate, or "" while a swap is in flight (neither may run).
	Running string `json:"running"`
	// Decision is Keep or Rollback once the gate has spoken, with the measured Reason.
	Decision Decision `json:"decision,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	// LiveBench and CandidateBench are the stored bench results (bench show ID).
	LiveBench      string `json:"live_bench,omitempty"`
	CandidateBench string `json:"candidate_bench,omitempty"`
	// Outcome is "" while the promotion is unfinished.
	Outcome Outcome `json:"outcome,omitempty"`
}

// Step is one step of a promotion.
type Step struct {
	Time   time.Time `json:"time"`
	Name   string    `json:"step"`
	Status string    `json:"status"` // started, done, failed
	Detail string    `json:"detail,omitempty"`
}

// Journals is the folder of promotion journals (.vllmctl/promote).
type Journals struct {
	Dir string
}

func (s Journals) path(id string) string { return filepath.Join(s.Dir, id+".json") }

// Hold takes the promotion's lock (<id>.lock beside its journal, an
// operating-system lock) for as long as the promotion runs: the kernel drops
// it when the promoting vllmctl dies, which is how Recover — in a later
// promote, or in serve — tells an interrupted promotion from one in progress,
// also from another container sharing the folder.
func (s Journals) Hold(id string) (release func(), err error) {
	return state.Hold(filepath.Join(s.Dir, id+".lock"))
}

// HoldWait takes the promotion's lock, waiting for its holder to end or die.
func (s Journals) HoldWait(id string) (release func(), err error) {
	return state.HoldWait(filepath.Join(s.Dir, id+".lock"))
}

// Save writes j atomically.
func (s Journals) Save(j *Journal) error {
	b, _ := json.MarshalIndent(j, "", "  ")
	return atomicfile.WriteFile(s.path(j.ID), append(b, '\n'), 0o644)
}

// Load reads a journal by id.
func (s Journals) Load(id string) (*Journal, error) {
	b, err := os.ReadFile(s.path(id))
	if err != nil {
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: the promotion journal is damaged (%v): move it away", s.path(id), err)
	}
	return &j, nil
}

// List returns every journal, oldest first.
func (s Journals) List() ([]*Journal, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Journal
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		j, err := s.Load(strings.TrimSuffix(e.Name(), ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

// Unfinished reports whether any journal has no outcome yet (a promotion in
// progress, or one a killed vllmctl left): cheap, for a daemon that checks
// often before building what Recover needs.
func (s Journals) Unfinished() (bool, error) {
	all, err := s.List()
	if err != nil {
		return false, err
	}
	for _, j := range all {
		if j.Outcome == "" {
			return true, nil
		}
	}
	return false, nil
}

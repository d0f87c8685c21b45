package audit

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Rule is how a group's live file was decided.
type Rule string

const (
	RuleProfile  Rule = "active profile"    // the group holds an active profile: it is the live config
	RuleOnly     Rule = "only candidate"    // one file could be live
	RuleNameDate Rule = "date in name"      // every candidate has a date in its name; one is the latest
	RuleModTime  Rule = "modification time" // the names do not decide; one file was modified last
	RuleTie      Rule = "tie"               // nothing decides: no file is proposed
	RuleNone     Rule = "no candidate"      // no file of the group may be live (see each file's skipped)
)

// ModTimeTie is how close two modification times must be to count as the
// same: files copied or checked out together carry nearly equal times, which
// do not tell which config is newer.
const ModTimeTie = 2 * time.Second

var dateRun = regexp.MustCompile(`20\d\d[-_]?\d\d[-_]?\d\d`)

// nameDate is the date written in a file's name (2025-10-19, 2025_10_19 or
// 20251016), else in the name of its nearest folder that has one; the latest
// when a name holds several. Zero when none.
func nameDate(rel string) time.Time {
	parts := strings.Split(rel, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if d := dateIn(parts[i]); !d.IsZero() {
			return d
		}
	}
	return time.Time{}
}

func dateIn(name string) time.Time {
	var best time.Time
	for _, loc := range dateRun.FindAllStringIndex(name, -1) {
		if loc[0] > 0 && isDigit(name[loc[0]-1]) || loc[1] < len(name) && isDigit(name[loc[1]]) {
			continue // part of a longer number
		}
		s := name[loc[0]:loc[1]]
		digits := strings.NewReplacer("-", "", "_", "").Replace(s)
		if n := len(s) - len(digits); n != 0 && n != 2 {
			continue // 2025-1019: not a date
		}
		if t, err := time.Parse("20060102", digits); err == nil && t.After(best) {
			best = t
		}
	}
	return best
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// newest picks the newest of candidate files: by the date in their names when
// every name has one, then by modification time. It returns one winner, or
// several when they tie, with the rule that decided and a sentence saying so.
func newest(es []*entry) (win []*entry, rule Rule, detail string) {
	if len(es) == 1 {
		return es, RuleOnly, "the only file that may be live"
	}
	pool := es
	allDated := true
	for _, e := range es {
		allDated = allDated && !e.date.IsZero()
	}
	byDate := false
	var day time.Time
	if allDated {
		for _, e := range es {
			if e.date.After(day) {
				day = e.date
			}
		}
		pool = nil
		for _, e := range es {
			if e.date.Equal(day) {
				pool = append(pool, e)
			}
		}
		if len(pool) == 1 {
			return pool, RuleNameDate, fmt.Sprintf("newest by the date in its name (%s)", day.Format("2006-01-02"))
		}
		byDate = true
	}
	var last time.Time
	for _, e := range pool {
		if e.mtime.After(last) {
			last = e.mtime
		}
	}
	var tied []*entry
	for _, e := range pool {
		if last.Sub(e.mtime) < ModTimeTie {
			tied = append(tied, e)
		}
	}
	names := "not every name holds a date"
	if byDate {
		names = fmt.Sprintf("the same date in their names (%s)", day.Format("2006-01-02"))
	}
	if len(tied) == 1 {
		return tied, RuleModTime, fmt.Sprintf("%s; newest by modification time (%s)", names, last.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	return tied, RuleTie, fmt.Sprintf("%s, and modification times within %s of each other", names, ModTimeTie)
}

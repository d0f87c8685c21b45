// Package redact masks secret values on every way out: command output, logs,
// error text, generated docs and archives.
package redact

import (
	"sort"
	"strings"
)

// Mask replaces a secret value.
const Mask = "***"

// Redactor replaces known secret values in text. The zero value redacts nothing.
type Redactor struct {
	secrets []string
	r       *strings.Replacer
}

// New returns a Redactor for these secrets. Values shorter than 4 bytes are
// ignored: masking "0" or "" would mangle ordinary text.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secret values.
func (r *Redactor) Add(secrets ...string) {
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, Mask)
	}
	r.r = strings.NewReplacer(pairs...)
}

// String masks every secret in s.
func (r *Redactor) String(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

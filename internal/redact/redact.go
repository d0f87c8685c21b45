// Package redact masks secret values on every way out: command output, logs,
// error text, generated docs, archives and the files of the state folder.
//
// A Redactor holds the secret values a project knows (API keys, tokens). Its
// String and Bytes replace each occurrence by Mask; its Writer does the same
// for a stream, including a secret split across two Write calls; Refs replaces
// a value by a ${NAME} reference where its variable is known, for files that
// are replayed (a resolved compose file must stay deployable).
//
// What is not masked, on purpose (see Maskable): values shorter than MinLen
// bytes, which would mangle ordinary text ("0", "true", "8000") and protect
// nothing; the conventional "no key" placeholders (EMPTY, dummy, none, null,
// sk-no-key-required, ...), which OpenAI clients send when an engine needs no
// key; values made of one repeated character; and unresolved ${VAR}
// references, which are variable names, not values.
//
// Besides each value as written, the encodings it takes in vllmctl's outputs
// are masked too: JSON and Go string escaping, shell single quoting, URL
// escaping and Compose's $$ escaping, so a key holding `&`, `"` or `$` does not
// slip through as \u0026, \" or $$.
package redact

import (
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Mask replaces a secret value.
const Mask = "***"

// MinLen is the shortest value masked, in bytes.
const MinLen = 6

// placeholders are values that stand for "no key" by convention (compared
// without case). Masking them would hide nothing and mangle the text around.
var placeholders = map[string]bool{
	"empty": true, "dummy": true, "none": true, "null": true, "nil": true, "unset": true,
	"changeme": true, "change-me": true, "change_me": true, "placeholder": true,
	"not-needed": true, "no-key": true, "nokey": true, "sk-no-key-required": true,
	"your-api-key": true, "your_api_key": true, "your-token": true, "your_token": true,
}

// Maskable reports whether v is masked when added: at least MinLen bytes, not
// a conventional placeholder, not one repeated character, not a ${VAR}
// reference.
func Maskable(v string) bool {
	if len(v) < MinLen || placeholders[strings.ToLower(strings.TrimSpace(v))] {
		return false
	}
	if strings.Count(v, v[:1]) == len(v) { // "xxxxxx", "******"
		return false
	}
	if strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
		return false
	}
	return strings.TrimSpace(v) != ""
}

// Redactor replaces known secret values. The zero value and a nil *Redactor
// mask nothing. It is safe for concurrent use, Add included.
type Redactor struct {
	mu  sync.Mutex // serializes Add
	cur atomic.Pointer[set]
}

// New returns a Redactor for these secrets (values that are not Maskable are
// ignored).
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secret values, with no variable name.
func (r *Redactor) Add(secrets ...string) {
	for _, s := range secrets {
		r.AddNamed("", s)
	}
}

// AddNamed registers a secret value held by the variable name ("" when none);
// Refs writes ${name} for it. A value registered twice keeps its first name.
func (r *Redactor) AddNamed(name, value string) {
	if r == nil || !Maskable(value) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur.Load()
	next := &set{}
	if old != nil {
		next.entries = append(next.entries, old.entries...)
	}
	known := map[string]bool{}
	for _, e := range next.entries {
		known[e.value] = true
	}
	for _, v := range variants(value) {
		if !known[v] {
			known[v] = true
			next.entries = append(next.entries, entry{value: v, name: name, secret: value})
		}
	}
	next.index()
	r.cur.Store(next)
}

// Merge registers every secret of other (with its name).
func (r *Redactor) Merge(other *Redactor) {
	if r == nil || other == nil {
		return
	}
	if s := other.cur.Load(); s != nil {
		for _, e := range s.entries {
			if e.value == e.secret {
				r.AddNamed(e.name, e.secret)
			}
		}
	}
}

// Len is the number of secret values registered.
func (r *Redactor) Len() int {
	n := 0
	if s := r.load(); s != nil {
		for _, e := range s.entries {
			if e.value == e.secret {
				n++
			}
		}
	}
	return n
}

func (r *Redactor) load() *set {
	if r == nil {
		return nil
	}
	return r.cur.Load()
}

// String masks every secret in s.
func (r *Redactor) String(s string) string {
	set := r.load()
	if set == nil || s == "" {
		return s
	}
	out, _ := set.scan([]byte(s), true, false)
	return string(out)
}

// Bytes masks every secret in b; b is not modified.
func (r *Redactor) Bytes(b []byte) []byte {
	set := r.load()
	if set == nil {
		return b
	}
	out, _ := set.scan(b, true, false)
	return out
}

// Refs replaces every secret in b by ${NAME} where its variable is known, by
// Mask otherwise: for files that are replayed with the variables at hand
// (compose files run with --env-file, stored process specs expanded again).
func (r *Redactor) Refs(b []byte) []byte {
	set := r.load()
	if set == nil {
		return b
	}
	out, _ := set.scan(b, true, true)
	return out
}

// entry is one masked byte string: a secret or one of its encodings.
type entry struct {
	value  string // the bytes to find
	name   string // variable holding the secret, "" when unknown
	secret string // the secret value itself
}

// set is an immutable snapshot of a Redactor's entries, longest first.
type set struct {
	entries []entry
	first   [256]bool
	maxLen  int
}

func (s *set) index() {
	sort.SliceStable(s.entries, func(i, j int) bool { return len(s.entries[i].value) > len(s.entries[j].value) })
	s.first = [256]bool{}
	s.maxLen = 0
	for _, e := range s.entries {
		s.first[e.value[0]] = true
		s.maxLen = max(s.maxLen, len(e.value))
	}
}

// scan masks buf, leftmost-longest. Unless final, it stops at the first
// position from which the rest of buf is the beginning of a longer secret and
// returns that rest, to be scanned again with the bytes that follow.
func (s *set) scan(buf []byte, final, refs bool) (out, rest []byte) {
	last := 0
	for i := 0; i < len(buf); i++ {
		if !s.first[buf[i]] {
			continue
		}
		rem := buf[i:]
		if !final && len(rem) < s.maxLen && s.startsSecret(rem) {
			return append(out, buf[last:i]...), rem
		}
		if e, ok := s.match(rem); ok {
			out = append(out, buf[last:i]...)
			if refs && e.name != "" {
				out = append(out, "${"+e.name+"}"...)
			} else {
				out = append(out, Mask...)
			}
			i += len(e.value) - 1
			last = i + 1
		}
	}
	if last == 0 && out == nil {
		return buf, nil // nothing masked: no copy
	}
	return append(out, buf[last:]...), nil
}

// startsSecret reports whether rem is a proper prefix of some entry.
func (s *set) startsSecret(rem []byte) bool {
	for _, e := range s.entries {
		if len(e.value) > len(rem) && e.value[:len(rem)] == string(rem) {
			return true
		}
	}
	return false
}

// match returns the longest entry rem starts with.
func (s *set) match(rem []byte) (entry, bool) {
	for _, e := range s.entries {
		if len(rem) >= len(e.value) && string(rem[:len(e.value)]) == e.value {
			return e, true
		}
	}
	return entry{}, false
}

// variants are the forms a secret takes in vllmctl's outputs.
func variants(v string) []string {
	out := []string{v}
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, base := range []string{v, strings.ReplaceAll(v, "$", "$$")} { // Compose escaping
		add(base)
		if b, err := json.Marshal(base); err == nil { // HTML-safe JSON: & < > as \u00XX
			add(string(b[1 : len(b)-1]))
		}
		var sb strings.Builder
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		if enc.Encode(base) == nil {
			q := strings.TrimSpace(sb.String())
			add(q[1 : len(q)-1])
		}
		q := strconv.Quote(base)
		add(q[1 : len(q)-1])
		add(strings.ReplaceAll(base, "'", `'\''`)) // inside shell single quotes
		add(url.QueryEscape(base))
		add(url.PathEscape(base))
	}
	return out
}

// Writer masks a stream: every secret written through it reaches the
// underlying writer as Mask, also when it is split across Write calls. It
// holds back only a tail that is the beginning of a secret (never more than
// the longest secret's length less one byte) until the next Write or Flush.
// Safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	r       *Redactor
	pending []byte
}

// NewWriter returns a Writer masking r's secrets on their way to w; secrets
// added to r later are masked from then on.
func NewWriter(w io.Writer, r *Redactor) *Writer {
	return &Writer{w: w, r: r}
}

// Write masks p and writes what is settled to the underlying writer. It
// reports len(p) when the bytes were accepted, held back ones included.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	set := w.r.load()
	if set == nil && len(w.pending) == 0 {
		return w.w.Write(p)
	}
	buf := p
	if len(w.pending) > 0 {
		buf = append(w.pending, p...)
	}
	var out, rest []byte
	if set == nil {
		out = buf
	} else {
		out, rest = set.scan(buf, false, false)
	}
	w.pending = append([]byte(nil), rest...)
	if len(out) > 0 {
		if _, err := w.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what is held back (masked; a held tail that never completed a
// secret is written as it is).
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	out := w.pending
	if set := w.r.load(); set != nil {
		out, _ = set.scan(out, true, false)
	}
	w.pending = nil
	_, err := w.w.Write(out)
	return err
}

// Unwrap returns the underlying writer (for terminal detection; writing to it
// bypasses the mask).
func (w *Writer) Unwrap() io.Writer { return w.w }

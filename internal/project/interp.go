package project

import (
	"fmt"
	"strings"
)

// Ref is one variable reference in a compose value, as Compose interpolates it:
// $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message},
// ${VAR:+replacement}, ${VAR+replacement}. Defaults may nest references.
type Ref struct {
	Name   string `json:"name"`
	Op     string `json:"op,omitempty"`     // "", ":-", "-", ":?", "?", ":+", "+"
	Arg    string `json:"arg,omitempty"`    // default, message or replacement, as written
	Offset int    `json:"offset"`           // byte offset of '$' in the scanned string
	End    int    `json:"end"`              // byte offset just past the reference
	Nested []Ref  `json:"nested,omitempty"` // references inside Arg (offsets relative to the scanned string)
	Stray  bool   `json:"stray,omitempty"`  // a '}' follows the reference directly
}

// HasDefault reports whether an unset variable still yields a value.
func (r Ref) HasDefault() bool { return r.Op == ":-" || r.Op == "-" }

// Required reports whether an unset variable stops Compose with an error.
func (r Ref) Required() bool { return r.Op == ":?" || r.Op == "?" }

// InterpError is a malformed interpolation.
type InterpError struct {
	Offset int
	Msg    string
}

func (e InterpError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// ScanRefs finds the variable references in s. It follows Compose's grammar:
// "$$" is a literal '$'; names start with a letter or '_' and continue with
// letters, digits and '_'. Malformed references are returned as errors and scanning
// goes on after them.
func ScanRefs(s string) ([]Ref, []InterpError) {
	var refs []Ref
	var errs []InterpError
	scan(s, 0, &refs, &errs)
	return refs, errs
}

func scan(s string, base int, refs *[]Ref, errs *[]InterpError) {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if i+1 >= len(s) {
			return
		}
		switch c := s[i+1]; {
		case c == '$':
			i++
		case c == '{':
			r, end, err := braced(s, i, base)
			if err != nil {
				*errs = append(*errs, *err)
				if end <= i {
					return
				}
				i = end - 1
				continue
			}
			if end < len(s) && s[end] == '}' {
				r.Stray = true
			}
			*refs = append(*refs, r)
			i = end - 1
		case nameRuneLen(s, i+1, false) > 0:
			j := i + 1
			for j < len(s) && nameRuneLen(s, j, true) > 0 {
				j += nameRuneLen(s, j, true)
			}
			*refs = append(*refs, Ref{Name: s[i+1 : j], Offset: base + i, End: base + j})
			i = j - 1
		}
	}
}

// braced parses "${...}" starting at s[i] == '$'. It returns the reference and the
// offset just past its closing brace.
func braced(s string, i, base int) (Ref, int, *InterpError) {
	j := i + 2
	if j >= len(s) {
		return Ref{}, len(s), &InterpError{base + i, "unterminated \"${\": add the closing '}'"}
	}
	if nameRuneLen(s, j, false) == 0 {
		if s[j] == '}' {
			return Ref{}, j + 1, &InterpError{base + i, "empty variable name \"${}\""}
		}
		return Ref{}, closeAt(s, j), &InterpError{base + i, fmt.Sprintf("invalid variable name starting with %q", s[j])}
	}
	k := j
	for k < len(s) && nameRuneLen(s, k, true) > 0 {
		k += nameRuneLen(s, k, true)
	}
	r := Ref{Name: s[j:k], Offset: base + i}
	if k >= len(s) {
		return Ref{}, len(s), &InterpError{base + i, fmt.Sprintf("unterminated \"${%s\": add the closing '}'", r.Name)}
	}
	if s[k] == '}' {
		r.End = base + k + 1
		return r, k + 1, nil
	}
	for _, op := range []string{":-", ":?", ":+", "-", "?", "+"} {
		if strings.HasPrefix(s[k:], op) {
			r.Op = op
			break
		}
	}
	if r.Op == "" {
		return Ref{}, closeAt(s, k), &InterpError{base + i, fmt.Sprintf("invalid character %q in \"${%s...}\": use ${%s:-default}", s[k], r.Name, r.Name)}
	}
	// The argument runs to the matching '}'. Like compose-go, every '{' opens a
	// level (and the character after it is skipped), every '}' closes one.
	a := k + len(r.Op)
	depth := 1
	m := a
	for ; m < len(s); m++ {
		if s[m] == '}' {
			depth--
			if depth == 0 {
				break
			}
		}
		if s[m] == '{' {
			depth++
			m++
		}
	}
	if m >= len(s) {
		return Ref{}, len(s), &InterpError{base + i, fmt.Sprintf("unterminated \"${%s%s\": add the closing '}'", r.Name, r.Op)}
	}
	r.Arg = s[a:m]
	r.End = base + m + 1
	var nestedErrs []InterpError
	scan(r.Arg, base+a, &r.Nested, &nestedErrs)
	if len(nestedErrs) > 0 {
		return Ref{}, m + 1, &nestedErrs[0]
	}
	return r, m + 1, nil
}

func closeAt(s string, from int) int {
	if k := strings.IndexByte(s[from:], '}'); k >= 0 {
		return from + k + 1
	}
	return len(s)
}

func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

// foldRunes are the two non-ASCII runes that compose-go's case-insensitive
// name pattern accepts, because they fold to ASCII letters: ſ (s) and K (k).
var foldRunes = []string{"\u017f", "\u212a"}

// nameRuneLen returns the byte length of a name character at s[i] (ASCII or a
// fold rune), or 0. digits tells whether digits count.
func nameRuneLen(s string, i int, digits bool) int {
	c := s[i]
	if isNameStart(c) || (digits && c >= '0' && c <= '9') {
		return 1
	}
	for _, r := range foldRunes {
		if strings.HasPrefix(s[i:], r) {
			return len(r)
		}
	}
	return 0
}

// Expand interpolates s with lookup as Compose does. Unset variables without a
// default expand to "". It returns the names that were unset and had no default.
func Expand(s string, lookup func(string) (string, bool)) (string, []string) {
	refs, _ := ScanRefs(s)
	var b strings.Builder
	var unset []string
	last := 0
	for _, r := range refs {
		b.WriteString(unescape(s[last:r.Offset]))
		v, u := expandRef(s, r, lookup)
		unset = append(unset, u...)
		b.WriteString(v)
		last = r.End
	}
	b.WriteString(unescape(s[last:]))
	return b.String(), unset
}

func expandRef(s string, r Ref, lookup func(string) (string, bool)) (string, []string) {
	v, ok := lookup(r.Name)
	arg := func() (string, []string) {
		out, unset := Expand(r.Arg, lookup)
		return out, unset
	}
	switch r.Op {
	case ":-":
		if !ok || v == "" {
			return arg()
		}
	case "-":
		if !ok {
			return arg()
		}
	case ":+":
		if ok && v != "" {
			return arg()
		}
		return "", nil
	case "+":
		if ok {
			return arg()
		}
		return "", nil
	case ":?", "?":
		if !ok || (r.Op == ":?" && v == "") {
			return "", []string{r.Name}
		}
	default:
		if !ok {
			return "", []string{r.Name}
		}
	}
	return v, nil
}

func unescape(s string) string { return strings.ReplaceAll(s, "$$", "$") }

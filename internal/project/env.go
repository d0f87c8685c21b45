package project

import (
	"bytes"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// EnvFile is a parsed .env file: values exactly as Compose reads them, plus the
// line of each key.
type EnvFile struct {
	Path   string            // relative to the project root
	Values map[string]string // key -> value (secrets included: never print)
	Lines  map[string]int    // key -> line of its last assignment
}

// Keys returns the keys in sorted order.
func (e *EnvFile) Keys() []string {
	if e == nil {
		return nil
	}
	keys := make([]string, 0, len(e.Values))
	for k := range e.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseEnv reads a .env file with Compose's own parser (quotes, escapes,
// comments, `export`). lookup resolves ${VAR} inside values.
func ParseEnv(rel string, data []byte, lookup func(string) (string, bool)) (*EnvFile, []Diagnostic) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	e := &EnvFile{Path: rel, Lines: map[string]int{}}
	vals, err := dotenv.UnmarshalBytesWithLookup(data, lookup)
	if err != nil {
		d := Diagnostic{Pos: Pos{File: rel, Line: 1}, Severity: Error, Code: "env-syntax",
			Message: "cannot parse: " + err.Error(), Hint: "write KEY=value, one per line"}
		if m := yamlLine.FindStringSubmatch(err.Error() + ": "); m != nil {
			d.Line = atoiOr(m[1], 1)
		}
		return &EnvFile{Path: rel, Values: map[string]string{}, Lines: map[string]int{}}, []Diagnostic{d}
	}
	delete(vals, "") // a bare value on a line names nothing that can be interpolated
	e.Values = vals
	lines := strings.Split(string(data), "\n")
	keyOf := func(line string) string {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			return ""
		}
		t = strings.TrimPrefix(t, "export ")
		k, _, ok := strings.Cut(t, "=")
		if !ok {
			k, _, ok = strings.Cut(t, ":") // KEY: value, which the parser also reads
		}
		if !ok {
			return ""
		}
		return strings.TrimSpace(k)
	}
	for i, line := range lines {
		if k := keyOf(line); k != "" {
			if _, known := vals[k]; known {
				e.Lines[k] = i + 1
			}
		}
	}
	// Keys the parser read in a form the scan above does not know: the last
	// line that starts with the key.
	for k := range vals {
		if _, ok := e.Lines[k]; ok {
			continue
		}
		e.Lines[k] = 1
		for i, line := range lines {
			t := strings.TrimSpace(line)
			if strings.HasPrefix(t, k) || strings.HasPrefix(strings.TrimPrefix(t, "export"), k) {
				e.Lines[k] = i + 1
			}
		}
	}
	return e, nil
}

func atoiOr(s string, def int) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	return n
}

package project

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// maxIndexed bounds the values indexed in one file (aliases can multiply them).
const maxIndexed = 200000

// Source is one compose file as read from disk, with its YAML node tree and
// every variable reference it contains, located.
type Source struct {
	Path  string     // relative to the project root, '/'-separated
	Abs   string     // absolute path on this machine
	Data  []byte     // content with CRLF turned into LF
	Root  *yaml.Node // document node; nil when the YAML does not parse
	Refs  []LocRef   // variable references, in file order
	Diags []Diagnostic

	lines []string
	nodes map[string]*yaml.Node // dotted path -> value node
	keys  map[string]*yaml.Node // dotted path -> key node
}

// LocRef is a variable reference with its place and the compose path of the value holding it.
type LocRef struct {
	Ref
	Pos   Pos
	Path  string // dotted path of the scalar, e.g. services.medium.command
	Value string // the whole scalar, as written
}

var yamlLine = regexp.MustCompile(`(?:yaml: )?line (\d+)(?:, column (\d+)|:(\d+))?:? `)

// ParseSource parses a compose file. Syntax errors become diagnostics, not errors.
func ParseSource(rel, abs string, data []byte) *Source {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	s := &Source{Path: rel, Abs: abs, Data: data, lines: strings.Split(string(data), "\n"),
		nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d := Diagnostic{Pos: Pos{File: rel, Line: 1}, Severity: Error, Code: "yaml-syntax",
			Message: "YAML syntax: " + cleanYAMLError(err.Error()),
			Hint:    "fix the indentation or quoting at that line; compose cannot read this file"}
		if all := yamlLine.FindAllStringSubmatch(err.Error(), -1); all != nil {
			m := all[len(all)-1] // the innermost place is the last one named
			d.Line, _ = strconv.Atoi(m[1])
			if c := m[2] + m[3]; c != "" {
				d.Col, _ = strconv.Atoi(c)
			}
		}
		s.Diags = append(s.Diags, d)
		return s
	}
	if len(doc.Content) == 0 {
		s.Diags = append(s.Diags, Diagnostic{Pos: Pos{File: rel, Line: 1}, Severity: Error, Code: "empty-file",
			Message: "the file is empty", Hint: "add a services: section or remove the file"})
		return s
	}
	s.Root = &doc
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		s.Diags = append(s.Diags, Diagnostic{Pos: Pos{File: rel, Line: top.Line, Col: top.Column}, Severity: Error,
			Code: "compose-shape", Message: "a compose file must be a mapping with a services: key"})
		return s
	}
	s.index(top, "")
	return s
}

func cleanYAMLError(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if locs := yamlLine.FindAllStringIndex(msg, -1); locs != nil {
		msg = msg[locs[len(locs)-1][1]:] // the innermost message follows the last place
	}
	return strings.Join(strings.Fields(msg), " ")
}

func (s *Source) index(n *yaml.Node, path string) {
	s.indexed(n, path, map[*yaml.Node]bool{})
}

// indexed indexes n under path; onPath holds the alias targets being expanded,
// so that an anchor that contains an alias to itself ends instead of recursing
// forever (compose rejects such a file; the diagnostic comes from its load).
func (s *Source) indexed(n *yaml.Node, path string, onPath map[*yaml.Node]bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if onPath[n.Alias] || len(s.nodes) > maxIndexed {
			return
		}
		onPath[n.Alias] = true
		defer delete(onPath, n.Alias)
		n = n.Alias
	}
	if len(s.nodes) > maxIndexed {
		return // an alias bomb: positions beyond this many values are not kept
	}
	s.nodes[path] = n
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if k.Value == "<<" { // merge key: index the merged mapping under the same path
				s.indexed(v, path, onPath)
				continue
			}
			s.keys[p] = k
			s.indexed(v, p, onPath)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			s.indexed(c, fmt.Sprintf("%s.%d", path, i), onPath)
		}
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "$") {
			s.scanScalar(n, path)
		}
	}
}

func (s *Source) scanScalar(n *yaml.Node, path string) {
	refs, errs := ScanRefs(n.Value)
	for _, e := range errs {
		s.Diags = append(s.Diags, Diagnostic{Pos: s.locate(n, n.Value[e.Offset:]), Severity: Error,
			Code: "bad-interpolation", Path: path, Message: "malformed interpolation: " + e.Msg,
			Hint: "write ${VAR}, ${VAR:-default} or ${VAR:?message}; use $$ for a literal $"})
	}
	for _, r := range refs {
		lr := LocRef{Ref: r, Pos: s.locate(n, n.Value[r.Offset:r.End]), Path: path, Value: n.Value}
		s.Refs = append(s.Refs, lr)
		for _, nr := range flatten(r.Nested) {
			s.Refs = append(s.Refs, LocRef{Ref: nr, Pos: s.locate(n, n.Value[nr.Offset:nr.End]), Path: path, Value: n.Value})
		}
	}
}

func flatten(refs []Ref) []Ref {
	var out []Ref
	for _, r := range refs {
		out = append(out, r)
		out = append(out, flatten(r.Nested)...)
	}
	return out
}

// locate finds where text written inside node n sits in the file. Block scalars
// (`>` and `|`) start on the line after their indicator; plain and quoted
// scalars on the node's own line.
func (s *Source) locate(n *yaml.Node, text string) Pos {
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if len(text) > 60 {
		text = text[:60]
	}
	if p, ok := s.find(n.Line, text, 400); ok {
		return p
	}
	return Pos{File: s.Path, Line: n.Line, Col: n.Column}
}

// find searches for text from line `from` on, for at most `span` lines, and
// returns the first place it starts.
func (s *Source) find(from int, text string, span int) (Pos, bool) {
	if text == "" || from < 1 {
		return Pos{}, false
	}
	for l := from; l <= len(s.lines) && l < from+span; l++ {
		line := s.lines[l-1]
		if c := strings.Index(line, text); c >= 0 {
			return Pos{File: s.Path, Line: l, Col: c + 1}, true
		}
	}
	return Pos{}, false
}

// findWord is find where the text must end at a word boundary ("--port" does not
// match "--port-x").
func (s *Source) findWord(from int, text string, span int) (Pos, bool) {
	if text == "" || from < 1 {
		return Pos{}, false
	}
	for l := from; l <= len(s.lines) && l < from+span; l++ {
		line := s.lines[l-1]
		off := 0
		for {
			c := strings.Index(line[off:], text)
			if c < 0 {
				break
			}
			end := off + c + len(text)
			if end == len(line) || strings.ContainsRune(" \t=\"',]", rune(line[end])) {
				return Pos{File: s.Path, Line: l, Col: off + c + 1}, true
			}
			off = end
		}
	}
	return Pos{}, false
}

// Node returns the value node at a dotted path ("services.medium.command").
func (s *Source) Node(path string) (*yaml.Node, bool) {
	n, ok := s.nodes[path]
	return n, ok
}

// PosOf returns the position of the value at a dotted path.
func (s *Source) PosOf(path string) (Pos, bool) {
	if n, ok := s.nodes[path]; ok {
		return Pos{File: s.Path, Line: n.Line, Col: n.Column}, true
	}
	return Pos{}, false
}

// KeyPos returns the position of the key at a dotted path.
func (s *Source) KeyPos(path string) (Pos, bool) {
	if n, ok := s.keys[path]; ok {
		return Pos{File: s.Path, Line: n.Line, Col: n.Column}, true
	}
	return Pos{}, false
}

// Lines returns the file's lines (LF-split).
func (s *Source) Lines() []string { return s.lines }

// Walk calls fn for every node of the file in path order.
func (s *Source) Walk(fn func(path string, n *yaml.Node)) {
	paths := make([]string, 0, len(s.nodes))
	for p := range s.nodes {
		paths = append(paths, p)
	}
	sortStrings(paths)
	for _, p := range paths {
		fn(p, s.nodes[p])
	}
}

// FindWord returns where text first appears as a whole word from line `from` on.
func (s *Source) FindWord(from int, text string) (Pos, bool) { return s.findWord(from, text, 400) }

// CommentLine is a line inside a command: string that starts with '#': compose
// does not treat it as a comment (it is part of the YAML string) and passes its
// words on as arguments.
type CommentLine struct {
	Path string // services.<name>.command
	Line int    // 1-based line in the file
	Text string
}

// CommandComments returns the '#' lines inside multi-line command: strings
// (folded, literal or plain multi-line scalars) of the file.
func (s *Source) CommandComments() []CommentLine {
	var out []CommentLine
	for path, n := range s.nodes {
		if !strings.HasPrefix(path, "services.") || !strings.HasSuffix(path, ".command") || strings.Count(path, ".") != 2 {
			continue
		}
		if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "\n") && n.Style != yaml.FoldedStyle && n.Style != yaml.LiteralStyle {
			continue
		}
		first := n.Line
		if n.Style == yaml.FoldedStyle || n.Style == yaml.LiteralStyle {
			first = n.Line + 1
		}
		// Find the block's lines in the file: from first, the lines indented
		// deeper than the key, until the first that is not.
		indent := -1
		for l := first; l <= len(s.lines); l++ {
			raw := s.lines[l-1]
			t := strings.TrimSpace(raw)
			if t == "" {
				continue
			}
			ind := len(raw) - len(strings.TrimLeft(raw, " \t"))
			if indent < 0 {
				indent = ind
			}
			if ind < indent {
				break
			}
			if strings.HasPrefix(t, "#") {
				out = append(out, CommentLine{Path: path, Line: l, Text: t})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// withoutCommandComments returns the file's content with the '#' lines of its
// command: strings blanked (line numbers kept), for a reading that compose
// would otherwise refuse.
func (s *Source) withoutCommandComments() []byte {
	cs := s.CommandComments()
	if len(cs) == 0 {
		return s.Data
	}
	lines := slices.Clone(s.lines)
	for _, c := range cs {
		lines[c.Line-1] = ""
	}
	return []byte(strings.Join(lines, "\n"))
}

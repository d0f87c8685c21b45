package shellcmd

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/pattern"
	"mvdan.cc/sh/v3/syntax"
)

// segKind says how a piece of an expanded word takes part in field splitting
// and globbing.
type segKind uint8

const (
	segLit     segKind = iota // unquoted literal text: globbing applies
	segQuoted                 // quoted text: taken as is
	segSplit                  // result of an unquoted expansion: field splitting and globbing apply
	segUnknown                // an expansion that cannot be known: text is its source form
	segBreak                  // a field boundary ("$@" between two arguments)
)

type seg struct {
	kind   segKind
	text   string
	quoted bool // for segUnknown: inside double quotes
	sep    bool // for segUnknown: a field of its own when unquoted (see chunk.sep)
}

func unknownSeg(src string, quoted bool) seg {
	return seg{kind: segUnknown, text: src, quoted: quoted}
}

// source returns the script text of a node, as written.
func (w *walker) source(n syntax.Node) string {
	if n == nil {
		return ""
	}
	start, end := n.Pos(), n.End()
	if !start.IsValid() || !end.IsValid() {
		return "?"
	}
	s, e := int(start.Offset()), int(end.Offset())
	if s < 0 || e > len(w.src) || s > e {
		return "?"
	}
	return w.src[s:e]
}

// words expands command arguments into fields.
func (w *walker) words(args []*syntax.Word, st *state) []Word {
	var out []Word
	for _, a := range args {
		line := int(a.Pos().Line())
		out = append(out, w.split(w.wordSegs(a, st), st, line)...)
		if len(out) > maxWords {
			out = append(out[:maxWords], Word{Text: "...", Unknown: true, Line: line})
			break
		}
	}
	return out
}

// maxWords bounds the words of one command (an unquoted expansion of a huge
// value would otherwise make thousands).
const maxWords = 4096

// wordSegs expands one word, tilde prefix included.
func (w *walker) wordSegs(word *syntax.Word, st *state) []seg {
	parts := word.Parts
	var out []seg
	if len(parts) > 0 {
		if lit, ok := parts[0].(*syntax.Lit); ok && strings.HasPrefix(lit.Value, "~") {
			name, restText, _ := strings.Cut(lit.Value, "/")
			hasSlash := len(name) < len(lit.Value)
			if name == "~" {
				home := w.resolve(st, "HOME")
				if home.kind == varSet {
					out = append(out, valueSegs(home.val, true)...)
				} else {
					out = append(out, unknownSeg("~", false))
				}
			} else {
				out = append(out, unknownSeg(name, false))
			}
			if hasSlash {
				out = append(out, seg{kind: segLit, text: "/"})
				out = append(out, unescapeUnquoted(restText)...)
			}
			parts = parts[1:]
		}
	}
	for _, p := range parts {
		out = append(out, w.part(p, st, false)...)
	}
	return out
}

// value expands a word the way an assignment or a [[ ]] operand does: no field
// splitting, no globbing.
func (w *walker) value(word *syntax.Word, st *state) value {
	if word == nil {
		return value{}
	}
	return segsValue(w.wordSegs(word, st))
}

func segsValue(segs []seg) value {
	var b builder
	for _, s := range segs {
		switch s.kind {
		case segUnknown:
			b.add(chunk{text: s.text, unknown: true, sep: s.sep})
		case segBreak:
			b.add(chunk{text: " "})
		default:
			b.add(chunk{text: s.text})
		}
		if b.size > maxValue {
			return value{{text: "...", unknown: true}}
		}
	}
	return b.value()
}

func valueSegs(v value, quoted bool) []seg {
	out := make([]seg, 0, len(v))
	for _, c := range v {
		switch {
		case c.unknown:
			out = append(out, seg{kind: segUnknown, text: c.text, quoted: quoted, sep: c.sep})
		case quoted:
			out = append(out, seg{kind: segQuoted, text: c.text})
		default:
			out = append(out, seg{kind: segSplit, text: c.text})
		}
	}
	return out
}

func (w *walker) part(p syntax.WordPart, st *state, quoted bool) []seg {
	switch p := p.(type) {
	case *syntax.Lit:
		if quoted {
			return []seg{{kind: segQuoted, text: unescapeDouble(p.Value)}}
		}
		return unescapeUnquoted(p.Value)
	case *syntax.SglQuoted:
		if p.Dollar {
			return []seg{{kind: segQuoted, text: ansiC(p.Value)}}
		}
		return []seg{{kind: segQuoted, text: p.Value}}
	case *syntax.DblQuoted:
		var out []seg
		if !onlyAt(p) {
			out = append(out, seg{kind: segQuoted}) // "" is a field even when empty
		}
		for _, q := range p.Parts {
			out = append(out, w.part(q, st, true)...)
		}
		return out
	case *syntax.ParamExp:
		return w.param(p, st, quoted)
	case *syntax.ArithmExp:
		if n, ok := w.arith(p.X, st); ok {
			if quoted {
				return []seg{{kind: segQuoted, text: strconv.Itoa(n)}}
			}
			return []seg{{kind: segSplit, text: strconv.Itoa(n)}}
		}
	}
	// $(...), `...`, <(...), extended globs: nothing is run.
	return []seg{unknownSeg(w.source(p), quoted)}
}

// onlyAt reports whether a double-quoted part is exactly "$@": with no
// positional parameters it gives no field at all.
func onlyAt(q *syntax.DblQuoted) bool {
	if len(q.Parts) != 1 {
		return false
	}
	pe, ok := q.Parts[0].(*syntax.ParamExp)
	if !ok || pe.Param == nil || pe.Length || pe.Exp != nil || pe.Repl != nil || pe.Slice != nil {
		return false
	}
	if wd, ok := pe.Index.(*syntax.Word); ok && wd.Lit() == "@" {
		return true // "${X[@]}"
	}
	return pe.Param.Value == "@" && pe.Index == nil
}

// unescapeUnquoted removes the backslashes of an unquoted literal; each escaped
// character becomes quoted text (no globbing, no splitting).
func unescapeUnquoted(s string) []seg {
	if !strings.Contains(s, `\`) {
		return []seg{{kind: segLit, text: s}}
	}
	var out []seg
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if i > start {
			out = append(out, seg{kind: segLit, text: s[start:i]})
		}
		if i+1 >= len(s) {
			out = append(out, seg{kind: segLit, text: `\`})
			start = len(s)
			break
		}
		_, size := utf8.DecodeRuneInString(s[i+1:])
		if s[i+1] != '\n' {
			out = append(out, seg{kind: segQuoted, text: s[i+1 : i+1+size]})
		}
		i += size
		start = i + 1
	}
	if start < len(s) {
		out = append(out, seg{kind: segLit, text: s[start:]})
	}
	return out
}

// unescapeDouble removes the backslashes that escape inside double quotes.
func unescapeDouble(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '$', '`', '"', '\\':
				b.WriteByte(s[i+1])
				i++
				continue
			case '\n':
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ansiC decodes the escapes of bash's $'...' quoting.
func ansiC(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'e', 'E':
			b.WriteByte(0x1b)
		case '\\', '\'', '"', '?':
			b.WriteByte(e)
		case 'x', 'u', 'U', '0', '1', '2', '3', '4', '5', '6', '7':
			base, max := 16, map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			j := i + 1
			if e >= '0' && e <= '7' {
				base, max, j = 8, 3, i
			}
			k := j
			for k < len(s) && k-j < max && isDigit(s[k], base) {
				k++
			}
			if k == j {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			n, _ := strconv.ParseUint(s[j:k], base, 32)
			if e == 'x' || base == 8 {
				b.WriteByte(byte(n))
			} else if utf8.ValidRune(rune(n)) {
				b.WriteRune(rune(n))
			}
			i = k - 1
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isDigit(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '7':
		return true
	case c == '8' || c == '9':
		return base >= 10
	case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		return base == 16
	}
	return false
}

// dynamic parameters have a value only the running shell knows.
var dynamic = map[string]bool{
	"RANDOM": true, "SRANDOM": true, "SECONDS": true, "EPOCHSECONDS": true, "EPOCHREALTIME": true,
	"BASHPID": true, "PPID": true, "$": true, "!": true, "?": true, "-": true, "0": true, "_": true,
	"BASH_COMMAND": true, "FUNCNAME": true, "PIPESTATUS": true, "OPTARG": true, "OPTIND": true, "REPLY": true,
}

// resolve returns what is known of a variable in a state.
func (w *walker) resolve(st *state, name string) variable {
	if v, ok := st.vars[name]; ok {
		if v.gen < st.taint {
			return variable{kind: varUnknown}
		}
		return v
	}
	if st.taint > 0 || dynamic[name] {
		return variable{kind: varUnknown}
	}
	if w.opt.Env != nil {
		if v, ok := w.opt.Env(name); ok {
			return variable{kind: varSet, val: knownValue(v)}
		}
	}
	return variable{kind: varAbsent}
}

// param expands ${...} and $name.
func (w *walker) param(pe *syntax.ParamExp, st *state, quoted bool) []seg {
	src := w.source(pe)
	unknown := []seg{unknownSeg(src, quoted)}
	if pe.Index != nil && pe.Param != nil && syntax.ValidName(pe.Param.Value) && !pe.Excl && pe.Names == 0 && len(pe.Modifiers) == 0 && pe.Flags == nil {
		return w.index(pe, st, quoted, unknown)
	}
	if pe.Param == nil || pe.Excl || pe.Names != 0 || pe.Index != nil || pe.Width || pe.IsSet ||
		pe.NestedParam != nil || len(pe.Modifiers) > 0 || pe.Flags != nil {
		return unknown
	}
	name := pe.Param.Value
	switch name {
	case "@", "*":
		if !st.posKnown || pe.Exp != nil || pe.Repl != nil || pe.Slice != nil {
			return unknown
		}
		if pe.Length {
			return numSeg(len(st.pos), quoted)
		}
		if name == "*" && quoted {
			var b builder
			for i, a := range st.pos {
				if i > 0 {
					b.add(chunk{text: w.ifsJoin(st)})
				}
				b.addValue(a)
			}
			return valueSegs(b.value(), true)
		}
		var out []seg
		for i, a := range st.pos {
			if i > 0 {
				out = append(out, seg{kind: segBreak})
			}
			if quoted {
				out = append(out, seg{kind: segQuoted})
			}
			out = append(out, valueSegs(a, quoted)...)
		}
		return out
	case "#":
		if !st.posKnown || pe.Exp != nil || pe.Repl != nil || pe.Slice != nil || pe.Length {
			return unknown
		}
		return numSeg(len(st.pos), quoted)
	case "LINENO":
		if pe.Exp == nil && pe.Repl == nil && pe.Slice == nil && !pe.Length {
			return numSeg(int(pe.Pos().Line()), quoted)
		}
		return unknown
	}
	var v variable
	if n, err := strconv.Atoi(name); err == nil && n > 0 {
		switch {
		case !st.posKnown:
			v = variable{kind: varUnknown}
		case n <= len(st.pos):
			v = variable{kind: varSet, val: st.pos[n-1]}
		default:
			v = variable{kind: varUnset}
		}
	} else {
		v = w.resolve(st, name)
	}
	if v.kind == varUnknown {
		return unknown
	}
	isSet := v.kind == varSet
	switch {
	case pe.Length:
		if s, ok := v.val.known(); ok && v.kind != varAbsent {
			return numSeg(utf8.RuneCountInString(s), quoted)
		}
		return unknown
	case pe.Slice != nil:
		return w.slice(pe, v, st, quoted, unknown)
	case pe.Repl != nil:
		return w.replace(pe, v, st, quoted, unknown)
	case pe.Exp != nil:
		return w.operator(pe, name, v, st, quoted, unknown)
	}
	if v.kind == varUnset || v.kind == varAbsent && w.absentEmpty {
		if quoted {
			return []seg{{kind: segQuoted}}
		}
		return nil
	}
	if !isSet {
		// Not in the service environment and never assigned, with no default:
		// the script expects a value from somewhere we cannot see (the image's
		// ENV, a file). Tests ([ -z "$X" ]) read it as empty, as the shell would.
		return unknown
	}
	return valueSegs(v.val, quoted)
}

func numSeg(n int, quoted bool) []seg {
	if quoted {
		return []seg{{kind: segQuoted, text: strconv.Itoa(n)}}
	}
	return []seg{{kind: segSplit, text: strconv.Itoa(n)}}
}

// operator expands ${name<op>word}.
func (w *walker) operator(pe *syntax.ParamExp, name string, v variable, st *state, quoted bool, unknown []seg) []seg {
	op := pe.Exp.Op
	isSet := v.kind == varSet
	// "used" says whether the value counts as set for the operator: the ':'
	// forms also treat the empty string as unset.
	used := triOf(isSet)
	switch op {
	case syntax.DefaultUnsetOrNull, syntax.AlternateUnsetOrNull, syntax.AssignUnsetOrNull, syntax.ErrorUnsetOrNull:
		if isSet {
			used = v.val.emptiness().not()
		}
	}
	word := func() []seg {
		if pe.Exp.Word == nil {
			if quoted {
				return []seg{{kind: segQuoted}}
			}
			return nil
		}
		segs := w.expSegs(pe.Exp.Word, st, quoted)
		for i := range segs {
			if segs[i].kind == segLit {
				segs[i].kind = segSplit // the word is part of an unquoted expansion
			}
		}
		return segs
	}
	switch op {
	case syntax.DefaultUnset, syntax.DefaultUnsetOrNull:
		switch used {
		case yes:
			return valueSegs(v.val, quoted)
		case no:
			return word()
		}
		return unknown
	case syntax.AssignUnset, syntax.AssignUnsetOrNull:
		switch used {
		case yes:
			return valueSegs(v.val, quoted)
		case no:
			segs := word()
			if _, err := strconv.Atoi(name); err != nil && syntax.ValidName(name) {
				st.set(name, segsValue(segs))
			}
			return segs
		}
		return unknown
	case syntax.AlternateUnset, syntax.AlternateUnsetOrNull:
		switch used {
		case yes:
			return word()
		case no:
			if quoted {
				return []seg{{kind: segQuoted}}
			}
			return nil
		}
		return unknown
	case syntax.ErrorUnset, syntax.ErrorUnsetOrNull:
		if used == yes {
			return valueSegs(v.val, quoted)
		}
		return unknown // the shell stops with the message here
	}
	// The remaining operators transform a value that must be known.
	s, ok := v.val.known()
	if !ok || !isSet && v.kind != varUnset {
		return unknown
	}
	out := func(r string) []seg {
		if quoted {
			return []seg{{kind: segQuoted, text: r}}
		}
		return []seg{{kind: segSplit, text: r}}
	}
	switch op {
	case syntax.RemSmallPrefix, syntax.RemLargePrefix, syntax.RemSmallSuffix, syntax.RemLargeSuffix:
		pat, ok := w.patternOf(pe.Exp.Word, st)
		if !ok {
			return unknown
		}
		suffix := op == syntax.RemSmallSuffix || op == syntax.RemLargeSuffix
		small := op == syntax.RemSmallPrefix || op == syntax.RemSmallSuffix
		r, ok := removePattern(s, pat, suffix, small)
		if !ok {
			return unknown
		}
		return out(r)
	case syntax.UpperFirst, syntax.UpperAll, syntax.LowerFirst, syntax.LowerAll:
		if pe.Exp.Word != nil && len(pe.Exp.Word.Parts) > 0 {
			return unknown // a pattern of which characters to change
		}
		switch op {
		case syntax.UpperAll:
			return out(strings.ToUpper(s))
		case syntax.LowerAll:
			return out(strings.ToLower(s))
		}
		if s == "" {
			return out(s)
		}
		r, size := utf8.DecodeRuneInString(s)
		first := strings.ToUpper(string(r))
		if op == syntax.LowerFirst {
			first = strings.ToLower(string(r))
		}
		return out(first + s[size:])
	}
	return unknown
}

// expSegs expands the word of ${name:-word}: inside double quotes the whole
// word is quoted.
func (w *walker) expSegs(word *syntax.Word, st *state, quoted bool) []seg {
	var out []seg
	for _, p := range word.Parts {
		out = append(out, w.part(p, st, quoted)...)
	}
	return out
}

// patternOf turns a word into a shell pattern: quoted parts match literally.
func (w *walker) patternOf(word *syntax.Word, st *state) (string, bool) {
	if word == nil {
		return "", true
	}
	var b strings.Builder
	for _, s := range w.expSegs(word, st, false) {
		switch s.kind {
		case segUnknown:
			return "", false
		case segQuoted:
			b.WriteString(pattern.QuoteMeta(s.text, 0))
		case segBreak:
			b.WriteByte(' ')
		default:
			b.WriteString(s.text)
		}
	}
	return b.String(), true
}

// removePattern implements ${s#p}, ${s##p}, ${s%p} and ${s%%p}.
func removePattern(s, pat string, suffix, small bool) (string, bool) {
	var mode pattern.Mode
	if small {
		mode |= pattern.Shortest
	}
	expr, err := pattern.Regexp(pat, mode)
	if err != nil {
		return "", false
	}
	switch {
	case suffix && small:
		expr = "^(?s:.*)(" + expr + ")$"
	case suffix:
		expr = "(" + expr + ")$"
	default:
		expr = "^(" + expr + ")"
	}
	rx, err := regexp.Compile(expr)
	if err != nil {
		return "", false
	}
	if loc := rx.FindStringSubmatchIndex(s); loc != nil && loc[2] >= 0 {
		s = s[:loc[2]] + s[loc[3]:]
	}
	return s, true
}

// replace implements ${s/p/r}, ${s//p/r}, ${s/#p/r} and ${s/%p/r}.
func (w *walker) replace(pe *syntax.ParamExp, v variable, st *state, quoted bool, unknown []seg) []seg {
	s, ok := v.val.known()
	if !ok || v.kind == varAbsent {
		return unknown
	}
	orig := pe.Repl.Orig
	anchor := byte(0)
	if orig != nil && len(orig.Parts) > 0 {
		if lit, ok := orig.Parts[0].(*syntax.Lit); ok && (strings.HasPrefix(lit.Value, "#") || strings.HasPrefix(lit.Value, "%")) {
			anchor = lit.Value[0]
			c := *lit
			c.Value = lit.Value[1:]
			parts := append([]syntax.WordPart{&c}, orig.Parts[1:]...)
			orig = &syntax.Word{Parts: parts}
		}
	}
	pat, ok := w.patternOf(orig, st)
	if !ok {
		return unknown
	}
	with := value{}
	if pe.Repl.With != nil {
		with = segsValue(w.expSegs(pe.Repl.With, st, true))
	}
	repl, ok := with.known()
	if !ok {
		return unknown
	}
	r := s
	if pat != "" {
		expr, err := pattern.Regexp(pat, 0)
		if err != nil {
			return unknown
		}
		switch anchor {
		case '#':
			expr = "^(?:" + expr + ")"
		case '%':
			expr = "(?:" + expr + ")$"
		}
		rx, err := regexp.Compile(expr)
		if err != nil {
			return unknown
		}
		n := 1
		if pe.Repl.All {
			n = -1
		}
		var b strings.Builder
		last := 0
		for _, loc := range rx.FindAllStringIndex(s, n) {
			b.WriteString(s[last:loc[0]])
			b.WriteString(repl)
			last = loc[1]
		}
		b.WriteString(s[last:])
		r = b.String()
	}
	if quoted {
		return []seg{{kind: segQuoted, text: r}}
	}
	return []seg{{kind: segSplit, text: r}}
}

// slice implements ${s:offset:length}.
func (w *walker) slice(pe *syntax.ParamExp, v variable, st *state, quoted bool, unknown []seg) []seg {
	s, ok := v.val.known()
	if !ok || v.kind == varAbsent {
		return unknown
	}
	runes := []rune(s)
	off, ok := w.arith(pe.Slice.Offset, st)
	if !ok {
		return unknown
	}
	if off < 0 {
		off += len(runes)
	}
	if off < 0 || off > len(runes) {
		off = len(runes)
	}
	end := len(runes)
	if pe.Slice.Length != nil {
		n, ok := w.arith(pe.Slice.Length, st)
		if !ok {
			return unknown
		}
		if n < 0 {
			end = len(runes) + n
		} else if n < len(runes)-off {
			end = off + n
		}
	}
	r := ""
	if end > off {
		r = string(runes[off:end])
	}
	if quoted {
		return []seg{{kind: segQuoted, text: r}}
	}
	return []seg{{kind: segSplit, text: r}}
}

// arith evaluates an arithmetic expression whose variables are all known and
// which assigns nothing.
func (w *walker) arith(x syntax.ArithmExpr, st *state) (int, bool) {
	if x == nil {
		return 0, false
	}
	pairs := []string{}
	ok := true
	syntax.Walk(x, func(n syntax.Node) bool {
		if !ok {
			return false
		}
		var name string
		switch n := n.(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst, *syntax.ArithmExp:
			ok = false
			return false
		case *syntax.UnaryArithm:
			if n.Op == syntax.Inc || n.Op == syntax.Dec {
				ok = false
			}
			return ok
		case *syntax.BinaryArithm:
			if isAssignOp(n.Op) {
				ok = false
			}
			return ok
		case *syntax.ParamExp:
			if n.Param == nil || !syntax.ValidName(n.Param.Value) || n.Exp != nil && n.Exp.Op >= syntax.AssignUnset && n.Exp.Op <= syntax.AssignUnsetOrNull {
				ok = false
				return false
			}
			name = n.Param.Value
		case *syntax.Lit:
			if syntax.ValidName(n.Value) {
				name = n.Value
			}
		}
		if name == "" {
			return true
		}
		v := w.resolve(st, name)
		switch v.kind {
		case varSet:
			s, known := v.val.known()
			s = strings.TrimSpace(s)
			if _, err := strconv.ParseInt(s, 0, 64); !known || (s != "" && err != nil) {
				ok = false
				return false
			}
			pairs = append(pairs, name+"="+s)
		case varUnknown:
			ok = false
			return false
		}
		return true
	})
	if !ok {
		return 0, false
	}
	n, err := expand.Arithm(&expand.Config{Env: expand.ListEnviron(pairs...)}, x)
	if err != nil {
		return 0, false
	}
	return n, true
}

// ifs returns the field separators in effect.
func (w *walker) ifs(st *state) string {
	v := w.resolve(st, "IFS")
	if v.kind == varSet {
		if s, ok := v.val.known(); ok {
			return s
		}
	}
	if v.kind == varUnset {
		return ""
	}
	return " \t\n"
}

func (w *walker) ifsJoin(st *state) string {
	if s := w.ifs(st); s != "" {
		return s[:1]
	}
	return ""
}

// split turns the pieces of one word into fields as the shell does: unquoted
// expansions split at IFS characters, "$@" makes a field per argument, a word
// that expands to nothing unquoted disappears.
func (w *walker) split(segs []seg, st *state, line int) []Word {
	ifs := w.ifs(st)
	var out []Word
	var cur []seg
	present := false
	flush := func() {
		if present {
			out = append(out, makeWord(cur, st, line))
		}
		cur, present = nil, false
	}
	for _, s := range segs {
		switch s.kind {
		case segBreak:
			flush()
		case segUnknown:
			if s.sep && !s.quoted {
				flush()
				cur, present = []seg{s}, true
				flush()
				continue
			}
			cur, present = append(cur, s), true
		case segSplit:
			start := 0
			for i := 0; i < len(s.text); i++ {
				if strings.IndexByte(ifs, s.text[i]) < 0 {
					continue
				}
				if i > start {
					cur, present = append(cur, seg{kind: segSplit, text: s.text[start:i]}), true
				}
				flush()
				start = i + 1
			}
			if start < len(s.text) {
				cur, present = append(cur, seg{kind: segSplit, text: s.text[start:]}), true
			}
		default:
			cur = append(cur, s)
			if s.kind == segQuoted || s.text != "" {
				present = true
			}
		}
	}
	flush()
	return out
}

func makeWord(segs []seg, st *state, line int) Word {
	var b strings.Builder
	wd := Word{Line: line}
	var unquoted strings.Builder
	for _, s := range segs {
		b.WriteString(s.text)
		switch s.kind {
		case segUnknown:
			wd.Unknown = true
		case segLit, segSplit:
			unquoted.WriteString(s.text)
		default:
			unquoted.WriteByte(0)
		}
	}
	wd.Text = b.String()
	if !wd.Unknown && !st.noglob && isGlob(unquoted.String()) {
		wd.Unknown = true // the files it matches decide the words
	}
	return wd
}

// isGlob reports whether unquoted text holds a pattern the shell would match
// against file names.
func isGlob(s string) bool {
	if strings.ContainsAny(s, "*?") {
		return true
	}
	if i := strings.IndexByte(s, '['); i >= 0 {
		return strings.IndexByte(s[i+1:], ']') > 0
	}
	return false
}

func isAssignOp(op syntax.BinAritOperator) bool {
	switch op {
	case syntax.Assgn, syntax.AddAssgn, syntax.SubAssgn, syntax.MulAssgn, syntax.QuoAssgn, syntax.RemAssgn,
		syntax.AndAssgn, syntax.OrAssgn, syntax.XorAssgn, syntax.ShlAssgn, syntax.ShrAssgn,
		syntax.AndBoolAssgn, syntax.OrBoolAssgn, syntax.XorBoolAssgn, syntax.PowAssgn:
		return true
	}
	return false
}

// index expands ${X[@]}, ${X[*]}, ${X[i]} and ${#X[@]} of bash arrays.
func (w *walker) index(pe *syntax.ParamExp, st *state, quoted bool, unknown []seg) []seg {
	v := w.resolve(st, pe.Param.Value)
	if v.kind == varUnknown || v.kind == varAbsent || pe.Exp != nil || pe.Repl != nil || pe.Slice != nil {
		return unknown
	}
	var elems []value
	if v.kind == varSet {
		elems = v.elems()
	}
	all := ""
	if wd, ok := pe.Index.(*syntax.Word); ok {
		if l := wd.Lit(); l == "@" || l == "*" {
			all = l
		}
	}
	if all == "" {
		i, ok := w.arith(pe.Index, st)
		if !ok {
			return unknown
		}
		if i < 0 {
			i += len(elems)
		}
		if i < 0 || i >= len(elems) {
			elems = nil
		} else {
			elems = elems[i : i+1]
		}
		if pe.Length {
			if len(elems) == 0 {
				return numSeg(0, quoted)
			}
			s, ok := elems[0].known()
			if !ok {
				return unknown
			}
			return numSeg(utf8.RuneCountInString(s), quoted)
		}
		if len(elems) == 0 {
			if quoted {
				return []seg{{kind: segQuoted}}
			}
			return nil
		}
		return valueSegs(elems[0], quoted)
	}
	if pe.Length {
		return numSeg(len(elems), quoted)
	}
	if all == "*" && quoted {
		var b builder
		for i, e := range elems {
			if i > 0 {
				b.add(chunk{text: w.ifsJoin(st)})
			}
			b.addValue(e)
		}
		return append([]seg{{kind: segQuoted}}, valueSegs(b.value(), true)...)
	}
	var out []seg
	for i, e := range elems {
		if i > 0 {
			out = append(out, seg{kind: segBreak})
		}
		if quoted {
			out = append(out, seg{kind: segQuoted})
		}
		out = append(out, valueSegs(e, quoted)...)
	}
	return out
}

package shellcmd

import "strings"

// chunk is a piece of a string value: known text, or an unknown piece whose
// text is its source form.
type chunk struct {
	text    string
	unknown bool
	// sep marks an unknown piece that stands apart from its neighbours when the
	// value is field-split (an optional " --flag value" appended under a
	// condition that cannot be decided).
	sep bool
}

// value is a string that may hold unknown pieces. Values are never modified in
// place once built, so states can share them.
type value []chunk

func knownValue(s string) value { return value{{text: s}} }

// known returns the text when the value holds no unknown piece.
func (v value) known() (string, bool) {
	if len(v) == 1 && !v[0].unknown {
		return v[0].text, true
	}
	var b strings.Builder
	for _, c := range v {
		if c.unknown {
			return "", false
		}
		b.WriteString(c.text)
	}
	return b.String(), true
}

// emptiness reports whether the value is empty: yes, no, or maybe.
func (v value) emptiness() tri {
	maybe := false
	for _, c := range v {
		if c.unknown {
			maybe = true
		} else if c.text != "" {
			return no
		}
	}
	if maybe {
		return unknownTri
	}
	return yes
}

// source renders the value with unknown pieces in their source form.
func (v value) source() string {
	var b strings.Builder
	for _, c := range v {
		b.WriteString(c.text)
	}
	return b.String()
}

func (v value) size() int {
	n := 0
	for _, c := range v {
		n += len(c.text)
	}
	return n
}

// builder makes a value from pieces in linear time, joining adjacent known
// text and adjacent unknown pieces (whose source forms then read on).
type builder struct {
	out  value
	buf  strings.Builder
	kind int // 0: nothing pending, 1: known text, 2: unknown source
	sep  bool
	size int
}

func (b *builder) add(c chunk) {
	if !c.unknown && c.text == "" {
		return
	}
	k := 1
	if c.unknown {
		k = 2
	}
	if b.kind != k || c.sep || b.sep {
		b.flush()
		b.kind, b.sep = k, c.sep
	}
	b.buf.WriteString(c.text)
	b.size += len(c.text)
}

func (b *builder) addValue(v value) {
	for _, c := range v {
		b.add(c)
	}
}

func (b *builder) flush() {
	if b.kind != 0 {
		b.out = append(b.out, chunk{text: b.buf.String(), unknown: b.kind == 2, sep: b.sep})
		b.buf.Reset()
	}
	b.kind, b.sep = 0, false
}

func (b *builder) value() value {
	b.flush()
	if b.out == nil {
		return value{}
	}
	return b.out
}

func (v value) equal(o value) bool {
	if len(v) != len(o) {
		return false
	}
	for i := range v {
		if v[i] != o[i] {
			return false
		}
	}
	return true
}

// tri is a three-valued truth: the exit status of a condition, or whether a
// value is empty.
type tri uint8

const (
	unknownTri tri = iota
	yes
	no
)

func (t tri) not() tri {
	switch t {
	case yes:
		return no
	case no:
		return yes
	}
	return unknownTri
}

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// varKind says what is known of a variable.
type varKind uint8

const (
	varAbsent  varKind = iota // not in the environment and never assigned: unset
	varUnset                  // unset by the script (unset, local)
	varSet                    // set; the value may still hold unknown pieces
	varUnknown                // cannot tell whether it is set or what it holds
)

type variable struct {
	kind varKind
	val  value   // the value; for an array, its first element
	arr  []value // the elements of a bash array (X=(a b)); nil for a string
	gen  int     // the state's taint when assigned
}

func (v variable) equal(o variable) bool {
	if v.kind != o.kind || (v.arr == nil) != (o.arr == nil) || len(v.arr) != len(o.arr) {
		return false
	}
	for i := range v.arr {
		if !v.arr[i].equal(o.arr[i]) {
			return false
		}
	}
	return v.kind != varSet || v.val.equal(o.val)
}

// elems returns the elements of a set variable: an array's, or the string as
// the only one.
func (v variable) elems() []value {
	if v.arr != nil {
		return v.arr
	}
	return []value{v.val}
}

// state is what the walker knows at one point of the script.
type state struct {
	vars map[string]variable
	// taint counts opaque events (`source FILE`, `eval` of an unknown string)
	// after which any variable not assigned since may hold anything.
	taint    int
	pos      []value // positional parameters $1...
	posKnown bool
	// dead is true once the script cannot go on along this path (exec, exit).
	dead bool
	// noglob is set by `set -f`.
	noglob bool
}

func (s *state) copy() *state {
	c := *s
	c.vars = make(map[string]variable, len(s.vars))
	for k, v := range s.vars {
		c.vars[k] = v
	}
	return &c
}

// set records an assignment.
func (s *state) set(name string, v value) {
	if v.size() > maxValue {
		s.vars[name] = variable{kind: varUnknown, gen: s.taint}
		return
	}
	s.vars[name] = variable{kind: varSet, val: v, gen: s.taint}
}

// setArray records an array assignment.
func (s *state) setArray(name string, elems []value) {
	size := 0
	for _, e := range elems {
		size += e.size()
	}
	if size > maxValue || len(elems) > maxWords {
		s.vars[name] = variable{kind: varUnknown, gen: s.taint}
		return
	}
	first := value{}
	if len(elems) > 0 {
		first = elems[0]
	}
	s.vars[name] = variable{kind: varSet, val: first, arr: append([]value{}, elems...), gen: s.taint}
}

func (s *state) setKind(name string, k varKind) {
	s.vars[name] = variable{kind: k, gen: s.taint}
}

// maxValue bounds a variable's size; a script doubling a value in a loop of
// assignments would otherwise grow it exponentially.
const maxValue = 1 << 16

// merge joins the states of paths of which one ran, without knowing which.
func (w *walker) merge(states ...*state) *state {
	var live []*state
	for _, s := range states {
		if !s.dead {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return states[0]
	}
	if len(live) == 1 {
		return live[0]
	}
	out := &state{vars: map[string]variable{}}
	for _, s := range live {
		out.taint = max(out.taint, s.taint)
	}
	names := map[string]bool{}
	for _, s := range live {
		for k := range s.vars {
			names[k] = true
		}
	}
	for name := range names {
		vals := make([]variable, len(live))
		for i, s := range live {
			vals[i] = w.resolve(s, name)
		}
		out.vars[name] = mergeVar(name, vals, out.taint)
	}
	out.pos, out.posKnown, out.noglob = live[0].pos, live[0].posKnown, live[0].noglob
	for _, s := range live[1:] {
		if !out.posKnown || !s.posKnown || !samePos(out.pos, s.pos) {
			out.pos, out.posKnown = nil, false
		}
	}
	return out
}

func samePos(a, b []value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

func mergeVar(name string, vals []variable, gen int) variable {
	first := vals[0]
	same := true
	for _, v := range vals[1:] {
		if !v.equal(first) {
			same = false
			break
		}
	}
	if same {
		first.gen = gen
		return first
	}
	for _, v := range vals {
		if v.kind != varSet || v.arr != nil {
			return variable{kind: varUnknown, gen: gen}
		}
	}
	acc := vals[0].val
	for _, v := range vals[1:] {
		acc = mergePrefix(name, acc, v.val)
	}
	if len(acc) == 1 && acc[0].unknown && acc[0].text == "$"+name {
		return variable{kind: varUnknown, gen: gen}
	}
	return variable{kind: varSet, val: acc, gen: gen}
}

// mergePrefix keeps what two values share at their start and turns the rest
// into one unknown piece named after the variable: `ARGS="$ARGS --x"` under an
// undecidable condition keeps the flags written before.
func mergePrefix(name string, a, b value) value {
	if a.equal(b) {
		return a
	}
	var prefix builder
	i, j := 0, 0
	ai, bj := 0, 0 // byte offsets inside a[i], b[j] when known
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if ca.unknown || cb.unknown {
			if ca == cb && ai == 0 && bj == 0 {
				prefix.add(ca)
				i, j = i+1, j+1
				continue
			}
			break
		}
		ta, tb := ca.text[ai:], cb.text[bj:]
		n := 0
		for n < len(ta) && n < len(tb) && ta[n] == tb[n] {
			n++
		}
		prefix.add(chunk{text: ta[:n]})
		ai, bj = ai+n, bj+n
		if ai == len(ca.text) {
			i, ai = i+1, 0
		}
		if bj == len(cb.text) {
			j, bj = j+1, 0
		}
		if n < len(ta) && n < len(tb) {
			break
		}
	}
	// The unknown piece stands apart when every non-empty rest starts a new
	// field (with a blank or an already separate piece).
	sep := true
	for _, r := range []struct {
		v      value
		i, off int
	}{{a, i, ai}, {b, j, bj}} {
		if c, ok := firstRest(r.v, r.i, r.off); ok {
			if c.unknown {
				sep = sep && c.sep
			} else {
				sep = sep && strings.ContainsRune(" \t\n", rune(c.text[0]))
			}
		}
	}
	p := prefix.value()
	if len(p) == 0 {
		return value{{text: "$" + name, unknown: true}}
	}
	tail := chunk{text: "${" + name + "}", unknown: true, sep: sep}
	if last := p[len(p)-1]; last.unknown && last.text == tail.text {
		return p // one unknown tail is enough: ${ARGS} may hold several flags
	}
	return append(p, tail)
}

// firstRest returns the first non-empty piece of v from chunk i, byte off.
func firstRest(v value, i, off int) (chunk, bool) {
	for ; i < len(v); i, off = i+1, 0 {
		c := v[i]
		c.text = c.text[off:]
		if c.unknown || c.text != "" {
			return c, true
		}
	}
	return chunk{}, false
}

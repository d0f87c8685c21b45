package shellcmd

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/pattern"
	"mvdan.cc/sh/v3/syntax"
)

// walker visits the statements of a script in source order, keeping what it
// knows of the variables (state) as the shell would along the way.
type walker struct {
	src   string
	opt   Options
	cmds  []Command
	funcs map[string][]string // function name → variables its body assigns
	// lastAssign is, per variable, the offset of its last assignment in the
	// script: a function body sees as unknown every variable assigned after the
	// function is declared, since it may be called later.
	lastAssign map[string]int
	inFunc     bool
	// absentEmpty reads a variable neither in the environment nor assigned as
	// empty (in tests) instead of unknown (in arguments).
	absentEmpty bool
	depth       int // eval nesting
	steps       int
}

// maxSteps bounds the work on one script (eval can multiply it); past it the
// rest of the script is not walked.
const maxSteps = 200000

// maxEvalDepth bounds eval inside eval.
const maxEvalDepth = 4

func newWalker(src string, opt Options) *walker {
	return &walker{src: src, opt: opt, funcs: map[string][]string{}, lastAssign: map[string]int{}}
}

func (w *walker) initialState() *state {
	st := &state{vars: map[string]variable{}}
	if w.opt.Args != nil {
		st.posKnown = true
		st.pos = make([]value, len(w.opt.Args))
		for i, a := range w.opt.Args {
			st.pos[i] = knownValue(a)
		}
	}
	return st
}

// prescan records where each variable is last assigned.
func (w *walker) prescan(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name != nil {
				w.lastAssign[n.Name.Value] = max(w.lastAssign[n.Name.Value], int(n.Pos().Offset()))
			}
		case *syntax.WordIter:
			if n.Name != nil {
				w.lastAssign[n.Name.Value] = max(w.lastAssign[n.Name.Value], int(n.Pos().Offset()))
			}
		}
		return true
	})
}

func (w *walker) stmts(list []*syntax.Stmt, st *state) tri {
	status := yes
	for _, s := range list {
		status = w.stmt(s, st)
	}
	return status
}

func (w *walker) stmt(s *syntax.Stmt, st *state) tri {
	if s == nil || s.Cmd == nil {
		return yes
	}
	if w.steps++; w.steps > maxSteps {
		return unknownTri
	}
	if s.Background || s.Coprocess || s.Disown {
		w.command(s.Cmd, st.copy()) // runs in a subshell
		return yes
	}
	r := w.command(s.Cmd, st)
	if s.Negated {
		r = r.not()
	}
	return r
}

func (w *walker) command(c syntax.Command, st *state) tri {
	switch c := c.(type) {
	case *syntax.CallExpr:
		return w.call(c, st)
	case *syntax.DeclClause:
		return w.decl(c, st)
	case *syntax.IfClause:
		return w.ifClause(c, st)
	case *syntax.BinaryCmd:
		return w.binary(c, st)
	case *syntax.Block:
		return w.stmts(c.Stmts, st)
	case *syntax.Subshell:
		return w.stmts(c.Stmts, st.copy())
	case *syntax.WhileClause:
		cond := w.stmts(c.Cond, st)
		body := st.copy()
		w.stmts(c.Do, body)
		if cond != triOf(c.Until) { // else the body never runs
			*st = *w.merge(st, body)
		}
		return unknownTri
	case *syntax.ForClause:
		return w.forClause(c, st)
	case *syntax.CaseClause:
		return w.caseClause(c, st)
	case *syntax.FuncDecl:
		w.funcDecl(c, st)
		return yes
	case *syntax.TestClause:
		w.absentEmpty = true
		defer func() { w.absentEmpty = false }()
		return w.test(c.X, st)
	case *syntax.ArithmCmd:
		w.forgetArith(c.X, st)
		return unknownTri
	case *syntax.LetClause:
		for _, x := range c.Exprs {
			w.forgetArith(x, st)
		}
		return unknownTri
	case *syntax.TimeClause:
		return w.stmt(c.Stmt, st)
	case *syntax.CoprocClause:
		w.stmt(c.Stmt, st.copy())
		return yes
	}
	return unknownTri
}

func (w *walker) call(c *syntax.CallExpr, st *state) tri {
	if len(c.Args) == 0 {
		for _, a := range c.Assigns {
			w.assign(a, st)
		}
		return yes
	}
	// Assignments before a command name apply to that command only; expand
	// them for their side effects (${X:=d}) on a scratch state.
	scratch := st
	if len(c.Assigns) > 0 {
		scratch = st.copy()
		for _, a := range c.Assigns {
			w.assign(a, scratch)
		}
	}
	words := w.words(c.Args, st)
	if len(words) == 0 {
		if len(c.Assigns) > 0 {
			*st = *scratch // no command: the assignments stay in the shell
		}
		return yes
	}
	cmd := Command{Words: words, Line: words[0].Line, Exec: !words[0].Unknown && words[0].Text == "exec"}
	w.cmds = append(w.cmds, cmd)
	if !words[0].Unknown && (words[0].Text == "[" || words[0].Text == "test") {
		// Evaluate the test on a second expansion where unset means empty.
		w.absentEmpty = true
		tw := w.words(c.Args, st.copy())
		w.absentEmpty = false
		return w.effects(Command{Words: tw, Line: cmd.Line}, st)
	}
	return w.effects(cmd, st)
}

// assign performs NAME=value, NAME+=value, NAME=(array), NAME[i]=value.
func (w *walker) assign(a *syntax.Assign, st *state) {
	if a.Name == nil {
		return
	}
	name := a.Name.Value
	if a.Index != nil {
		st.setKind(name, varUnknown) // X[i]=v
		return
	}
	if a.Array != nil {
		var elems []value
		if a.Append {
			old := w.resolve(st, name)
			switch old.kind {
			case varUnknown:
				st.setKind(name, varUnknown)
				return
			case varSet:
				elems = append(elems, old.elems()...)
			}
		}
		for _, e := range a.Array.Elems {
			if e.Index != nil {
				st.setKind(name, varUnknown) // X=([k]=v)
				return
			}
			if e.Value == nil {
				continue
			}
			for _, wd := range w.split(w.wordSegs(e.Value, st), st, 0) {
				if wd.Unknown {
					elems = append(elems, value{{text: wd.Text, unknown: true}})
				} else {
					elems = append(elems, knownValue(wd.Text))
				}
			}
		}
		st.setArray(name, elems)
		return
	}
	v := w.value(a.Value, st)
	if a.Append {
		old := w.resolve(st, name)
		switch old.kind {
		case varUnknown:
			st.setKind(name, varUnknown)
			return
		case varSet:
			var b builder
			b.addValue(old.val)
			b.addValue(v)
			v = b.value()
		}
	}
	st.set(name, v)
}

// decl handles export, declare, local, readonly and typeset.
func (w *walker) decl(d *syntax.DeclClause, st *state) tri {
	line := int(d.Pos().Line())
	variant := ""
	if d.Variant != nil {
		variant = d.Variant.Value
	}
	words := []Word{{Text: variant, Line: line}}
	opaque := false // -a, -A, -n, -i: arrays, references, integers
	for _, a := range d.Args {
		switch {
		case a.Naked && a.Name != nil:
			words = append(words, Word{Text: a.Name.Value, Line: line})
			if variant == "local" {
				st.setKind(a.Name.Value, varUnset)
			}
		case a.Naked:
			ws := w.words([]*syntax.Word{a.Value}, st)
			for _, wd := range ws {
				if strings.HasPrefix(wd.Text, "-") && strings.ContainsAny(wd.Text, "aAni") {
					opaque = true
				}
			}
			words = append(words, ws...)
		case a.Name != nil:
			if opaque && !(a.Array != nil && onlyIndexed(words)) || a.Index != nil {
				st.setKind(a.Name.Value, varUnknown)
				words = append(words, Word{Text: w.source(a), Unknown: true, Line: line})
				continue
			}
			w.assign(a, st)
			v := w.resolve(st, a.Name.Value)
			if a.Array != nil {
				words = append(words, Word{Text: w.source(a), Unknown: v.kind != varSet, Line: line})
				continue
			}
			_, known := v.val.known()
			words = append(words, Word{Text: a.Name.Value + "=" + v.val.source(), Unknown: !known || v.kind != varSet, Line: line})
		}
	}
	w.cmds = append(w.cmds, Command{Words: words, Line: line})
	return yes
}

// onlyIndexed reports whether the options of a declaration are only -a (an
// indexed array), which assign understands.
func onlyIndexed(words []Word) bool {
	for _, w := range words[1:] {
		if strings.HasPrefix(w.Text, "-") && strings.Trim(w.Text, "-a") != "" {
			return false
		}
	}
	return true
}

// effects applies what a command does to the shell itself and returns its exit
// status when it can be told.
func (w *walker) effects(cmd Command, st *state) tri {
	name := cmd.Words[0]
	if name.Unknown {
		return unknownTri
	}
	args := cmd.Words[1:]
	switch name.Text {
	case "exec":
		if len(skipOptions(args, "a")) > 0 {
			st.dead = true // the shell is replaced
		}
	case "exit":
		st.dead = true
	case "return":
		if w.inFunc {
			st.dead = true
		}
	case "true", ":":
		return yes
	case "false":
		return no
	case "[":
		if len(args) == 0 || args[len(args)-1].Unknown || args[len(args)-1].Text != "]" {
			return unknownTri
		}
		return evalTest(args[:len(args)-1])
	case "test":
		return evalTest(args)
	case "set":
		w.set(args, st)
		return yes
	case "shift":
		n := 1
		if len(args) > 0 {
			var err error
			if n, err = strconv.Atoi(args[0].Text); err != nil || args[0].Unknown || n < 0 {
				st.pos, st.posKnown = nil, false
				return unknownTri
			}
		}
		if st.posKnown && n <= len(st.pos) {
			st.pos = st.pos[n:]
		}
	case "unset":
		fn := false
		for _, a := range args {
			switch {
			case a.Unknown:
				st.taint++ // an unknown name: any variable may be gone
			case a.Text == "-f":
				fn = true
			case strings.HasPrefix(a.Text, "-"):
			case !fn:
				st.setKind(a.Text, varUnset)
			}
		}
	case ".", "source":
		if len(args) == 0 || args[0].Unknown || !harmlessSource(args[0].Text) {
			st.taint++
		}
	case "eval":
		w.eval(cmd, st)
	case "read":
		for _, n := range operands(args, "pdntua") {
			st.setKind(n.Text, varUnknown)
		}
		if len(operands(args, "pdntua")) == 0 {
			st.setKind("REPLY", varUnknown)
		}
	case "getopts":
		if len(args) > 1 && !args[1].Unknown {
			st.setKind(args[1].Text, varUnknown)
		}
	case "mapfile", "readarray":
		if ops := operands(args, "dnOsuCc"); len(ops) > 0 {
			st.setKind(ops[len(ops)-1].Text, varUnknown)
		}
	case "printf":
		if len(args) > 1 && args[0].Text == "-v" && !args[1].Unknown {
			st.setKind(args[1].Text, varUnknown)
		}
	case "cd", "pushd", "popd":
		st.setKind("PWD", varUnknown)
		st.setKind("OLDPWD", varUnknown)
	default:
		if names, ok := w.funcs[name.Text]; ok {
			for _, n := range names {
				st.setKind(n, varUnknown)
			}
		}
	}
	return unknownTri
}

// harmlessSource reports whether sourcing the file is known to set only
// variables no vLLM command reads (virtualenv and conda activation, the
// shell's profile files).
func harmlessSource(file string) bool {
	base := path.Base(file)
	switch base {
	case "activate", "conda.sh", "mamba.sh", ".bashrc", ".profile", ".bash_profile", "profile", "env":
		return base != "env" || strings.Contains(file, ".cargo/") || strings.Contains(file, ".local/bin/")
	}
	return strings.HasPrefix(file, "/etc/profile.d/")
}

// skipOptions drops leading options; letters in withValue take the next word.
func skipOptions(args []Word, withValue string) []Word {
	for len(args) > 0 {
		a := args[0]
		if a.Unknown || !strings.HasPrefix(a.Text, "-") || a.Text == "-" {
			return args
		}
		args = args[1:]
		if a.Text == "--" {
			return args
		}
		if len(a.Text) == 2 && strings.ContainsRune(withValue, rune(a.Text[1])) && len(args) > 0 {
			args = args[1:]
		}
	}
	return args
}

// operands returns the known non-option words after the options.
func operands(args []Word, withValue string) []Word {
	var out []Word
	for _, a := range skipOptions(args, withValue) {
		if !a.Unknown && syntax.ValidName(a.Text) {
			out = append(out, a)
		}
	}
	return out
}

// set handles `set -- args`, `set args`, `set -euo pipefail`, `set -f`.
func (w *walker) set(args []Word, st *state) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.Unknown {
			st.pos, st.posKnown = nil, false
			return
		}
		switch {
		case a.Text == "--" || a.Text == "-":
			w.setPos(args[i+1:], st)
			return
		case len(a.Text) > 1 && (a.Text[0] == '-' || a.Text[0] == '+'):
			on := a.Text[0] == '-'
			for _, c := range a.Text[1:] {
				switch c {
				case 'f':
					st.noglob = on
				case 'o': // -o NAME
					if i+1 < len(args) {
						i++
						if args[i].Text == "noglob" {
							st.noglob = on
						}
					}
				}
			}
		default:
			w.setPos(args[i:], st)
			return
		}
	}
}

func (w *walker) setPos(args []Word, st *state) {
	st.pos, st.posKnown = make([]value, len(args)), true
	for i, a := range args {
		if a.Unknown {
			st.pos[i] = value{{text: a.Text, unknown: true}}
		} else {
			st.pos[i] = knownValue(a.Text)
		}
	}
}

// eval parses and walks a known string as a script, its commands placed at the
// eval's line; an unknown or unparsable one may do anything.
func (w *walker) eval(cmd Command, st *state) {
	args := cmd.Words[1:]
	texts := make([]string, len(args))
	for i, a := range args {
		if a.Unknown {
			st.taint++
			return
		}
		texts[i] = a.Text
	}
	if w.depth >= maxEvalDepth {
		st.taint++
		return
	}
	text := strings.Join(texts, " ")
	f, err := parseScript(text)
	if err != nil {
		st.taint++
		return
	}
	saved, n0 := w.src, len(w.cmds)
	w.src = text
	w.depth++
	w.stmts(f.Stmts, st)
	w.depth--
	w.src = saved
	for i := n0; i < len(w.cmds); i++ {
		w.cmds[i].Line = cmd.Line
		for j := range w.cmds[i].Words {
			w.cmds[i].Words[j].Line = cmd.Line
		}
	}
}

func (w *walker) ifClause(c *syntax.IfClause, st *state) tri {
	if !c.ThenPos.IsValid() && len(c.Cond) == 0 { // else
		return w.stmts(c.Then, st)
	}
	cond := w.stmts(c.Cond, st)
	thenSt := st.copy()
	ts := w.stmts(c.Then, thenSt)
	elseSt := st.copy()
	es := yes
	if c.Else != nil {
		es = w.ifClause(c.Else, elseSt)
	}
	switch cond {
	case yes:
		*st = *thenSt
		return ts
	case no:
		*st = *elseSt
		return es
	}
	*st = *w.merge(thenSt, elseSt)
	return unknownTri
}

func (w *walker) binary(c *syntax.BinaryCmd, st *state) tri {
	switch c.Op {
	case syntax.AndStmt, syntax.OrStmt:
		// X && Y runs Y when X succeeds; X || Y when it fails.
		runs := yes
		if c.Op == syntax.OrStmt {
			runs = no
		}
		l := w.stmt(c.X, st)
		switch l {
		case runs:
			return w.stmt(c.Y, st)
		case runs.not():
			w.stmt(c.Y, st.copy())
			return l
		}
		other := st.copy()
		r := w.stmt(c.Y, other)
		*st = *w.merge(st.copy(), other)
		if r == runs.not() {
			return r
		}
		return unknownTri
	}
	// A pipeline: every part runs in a subshell.
	w.stmt(c.X, st.copy())
	return w.stmt(c.Y, st.copy())
}

func (w *walker) forClause(c *syntax.ForClause, st *state) tri {
	body := st.copy()
	var loopVar string
	var items []Word
	switch l := c.Loop.(type) {
	case *syntax.WordIter:
		if l.Name != nil {
			loopVar = l.Name.Value
		}
		if l.InPos.IsValid() {
			items = w.words(l.Items, st)
		} else {
			items = []Word{{Unknown: true}} // over "$@"
		}
	case *syntax.CStyleLoop:
		for _, x := range []syntax.ArithmExpr{l.Init, l.Cond, l.Post} {
			w.forgetArith(x, body)
		}
	}
	if loopVar != "" {
		if len(items) == 1 && !items[0].Unknown {
			body.set(loopVar, knownValue(items[0].Text))
		} else {
			body.setKind(loopVar, varUnknown)
		}
	}
	w.stmts(c.Do, body)
	if loopVar != "" && len(items) == 0 {
		return yes // the body never runs
	}
	*st = *w.merge(st, body)
	return unknownTri
}

func (w *walker) caseClause(c *syntax.CaseClause, st *state) tri {
	subject := w.value(c.Word, st)
	var cands []*state
	resolved := false
	for _, item := range c.Items {
		bs := st.copy()
		w.stmts(item.Stmts, bs)
		if resolved {
			continue
		}
		m := no
		for _, p := range item.Patterns {
			switch w.match(subject, p, st) {
			case yes:
				m = yes
			case unknownTri:
				if m == no {
					m = unknownTri
				}
			}
		}
		switch m {
		case yes:
			cands = append(cands, bs)
			resolved = true
		case unknownTri:
			cands = append(cands, bs)
		}
	}
	if !resolved {
		cands = append(cands, st)
	}
	*st = *w.merge(cands...)
	return unknownTri
}

// match tests a known value against a pattern word.
func (w *walker) match(subject value, pat *syntax.Word, st *state) tri {
	s, ok := subject.known()
	if !ok {
		return unknownTri
	}
	p, ok := w.patternOf(pat, st)
	if !ok {
		return unknownTri
	}
	return matchPattern(s, p)
}

func matchPattern(s, p string) tri {
	expr, err := pattern.Regexp(p, pattern.EntireString)
	if err != nil {
		return unknownTri
	}
	rx, err := regexp.Compile(expr)
	if err != nil {
		return unknownTri
	}
	return triOf(rx.MatchString(s))
}

func (w *walker) funcDecl(c *syntax.FuncDecl, st *state) {
	body := st.copy()
	body.pos, body.posKnown, body.dead = nil, false, false
	end := int(c.End().Offset())
	for name, at := range w.lastAssign {
		if at > end {
			body.setKind(name, varUnknown)
		}
	}
	saved := w.inFunc
	w.inFunc = true
	w.stmt(c.Body, body)
	w.inFunc = saved
	if c.Name == nil {
		return
	}
	var assigned []string
	syntax.Walk(c.Body, func(n syntax.Node) bool {
		if a, ok := n.(*syntax.Assign); ok && a.Name != nil {
			assigned = append(assigned, a.Name.Value)
		}
		return true
	})
	w.funcs[c.Name.Value] = assigned
}

// forgetArith marks the variables an arithmetic expression assigns as unknown.
func (w *walker) forgetArith(x syntax.ArithmExpr, st *state) {
	if x == nil {
		return
	}
	syntax.Walk(x, func(n syntax.Node) bool {
		var target syntax.ArithmExpr
		switch n := n.(type) {
		case *syntax.BinaryArithm:
			if isAssignOp(n.Op) {
				target = n.X
			}
		case *syntax.UnaryArithm:
			if n.Op == syntax.Inc || n.Op == syntax.Dec {
				target = n.X
			}
		}
		if wd, ok := target.(*syntax.Word); ok {
			if name := wd.Lit(); syntax.ValidName(name) {
				st.setKind(name, varUnknown)
			}
		}
		return true
	})
}

// test evaluates a [[ ]] expression.
func (w *walker) test(x syntax.TestExpr, st *state) tri {
	switch x := x.(type) {
	case *syntax.Word:
		return w.value(x, st).emptiness().not()
	case *syntax.ParenTest:
		return w.test(x.X, st)
	case *syntax.UnaryTest:
		switch x.Op {
		case syntax.TsNot:
			return w.test(x.X, st).not()
		case syntax.TsEmpStr, syntax.TsNempStr:
			wd, ok := x.X.(*syntax.Word)
			if !ok {
				return unknownTri
			}
			r := w.value(wd, st).emptiness()
			if x.Op == syntax.TsNempStr {
				r = r.not()
			}
			return r
		}
	case *syntax.BinaryTest:
		switch x.Op {
		case syntax.AndTest, syntax.OrTest:
			l, r := w.test(x.X, st), w.test(x.Y, st)
			if x.Op == syntax.AndTest {
				return and(l, r)
			}
			return and(l.not(), r.not()).not()
		case syntax.TsMatch, syntax.TsMatchShort, syntax.TsNoMatch:
			lw, ok1 := x.X.(*syntax.Word)
			rw, ok2 := x.Y.(*syntax.Word)
			if !ok1 || !ok2 {
				return unknownTri
			}
			r := w.match(w.value(lw, st), rw, st)
			if x.Op == syntax.TsNoMatch {
				r = r.not()
			}
			return r
		}
		lw, ok1 := x.X.(*syntax.Word)
		rw, ok2 := x.Y.(*syntax.Word)
		if !ok1 || !ok2 {
			return unknownTri
		}
		l, lok := w.value(lw, st).known()
		r, rok := w.value(rw, st).known()
		if !lok || !rok {
			return unknownTri
		}
		return compareInts(x.Op.String(), l, r)
	}
	return unknownTri
}

func and(a, b tri) tri {
	if a == no || b == no {
		return no
	}
	if a == yes && b == yes {
		return yes
	}
	return unknownTri
}

// evalTest evaluates the arguments of `test` / `[`.
func evalTest(args []Word) tri {
	for _, a := range args {
		if a.Unknown {
			return unknownTri
		}
	}
	switch len(args) {
	case 0:
		return no
	case 1:
		return triOf(args[0].Text != "")
	case 2:
		switch args[0].Text {
		case "!":
			return triOf(args[1].Text == "")
		case "-n":
			return triOf(args[1].Text != "")
		case "-z":
			return triOf(args[1].Text == "")
		}
		return unknownTri // file tests and the like
	case 3:
		l, op, r := args[0].Text, args[1].Text, args[2].Text
		switch op {
		case "=", "==":
			return triOf(l == r)
		case "!=":
			return triOf(l != r)
		}
		if l == "!" {
			return evalTest(args[1:]).not()
		}
		return compareInts(op, l, r)
	case 4:
		if args[0].Text == "!" {
			return evalTest(args[1:]).not()
		}
	}
	return unknownTri
}

func compareInts(op, l, r string) tri {
	a, err1 := strconv.ParseInt(strings.TrimSpace(l), 10, 64)
	b, err2 := strconv.ParseInt(strings.TrimSpace(r), 10, 64)
	if err1 != nil || err2 != nil {
		return unknownTri
	}
	switch op {
	case "-eq":
		return triOf(a == b)
	case "-ne":
		return triOf(a != b)
	case "-lt":
		return triOf(a < b)
	case "-le":
		return triOf(a <= b)
	case "-gt":
		return triOf(a > b)
	case "-ge":
		return triOf(a >= b)
	}
	return unknownTri
}

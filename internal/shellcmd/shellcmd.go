// Package shellcmd reads the commands of a POSIX or bash script the way the shell
// would run them, without running anything, so that the vLLM invocation inside a
// compose wrapper (`entrypoint: ["/bin/sh","-c"]` plus a `command:` script, or
// `bash -c "pip install x && exec vllm serve $MODEL ..."`, or an entrypoint.sh)
// can be handed to the vLLM argv parser.
//
// Parse walks every simple command in source order and expands its words as the
// shell would: quoting, escapes and line continuations, `$VAR` and `${VAR...}`
// from the service environment and from assignments earlier in the script, field
// splitting of unquoted expansions, "$@" and $1.. from the container's remaining
// arguments. Whatever cannot be known without running the script (an unset
// variable without a default, `$(...)`, `$RANDOM`, a glob, a value assigned under
// a condition that cannot be decided, anything after `source` of an unknown file)
// becomes an unknown Word holding its source form, never a guess.
//
// FindVLLM picks the command that starts the vLLM server; IsShell recognises a
// container argv that runs a shell script. The parser is mvdan.cc/sh/v3/syntax;
// the expansion is ours, because expand.Config cannot represent "unknown".
package shellcmd

import (
	"errors"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Word is one argument after shell expansion.
type Word struct {
	// Text is the expanded text. When Unknown, it holds the source form of what
	// could not be expanded (for example "${TP}" or "--tp=$(nproc)"), with the
	// known parts of the word expanded around it.
	Text string
	// Unknown is true when part of the word is an expansion whose value cannot be
	// known here: an unset variable without a default, $(...), $RANDOM, a glob,
	// "$@" without Options.Args, a variable set under an undecidable condition.
	Unknown bool
	// Line is the 1-based line of the word in the script.
	Line int
}

// Command is one simple command after expansion.
type Command struct {
	// Words are the command's arguments, Words[0] being the command name ("exec"
	// included when the command starts with it). Assignments written before the
	// name (`A=1 cmd`) and redirections are not words.
	Words []Word
	// Line is the 1-based line of the command's first word.
	Line int
	// Exec is true when the command starts with `exec`.
	Exec bool
}

// Options tell Parse what the script's environment holds. The zero value means:
// no environment variable is set and the positional parameters are unknown.
type Options struct {
	// Env returns the value of an environment variable of the service (compose
	// `environment:` after interpolation). A name it does not know is treated as
	// unset: `${NAME:-d}` gives d, a bare `$NAME` gives an unknown word. Nil: no
	// variable is set.
	Env func(name string) (string, bool)
	// Args are the positional parameters $1, $2, ... that "$@" forwards (for
	// `sh -c SCRIPT $0 $1 ...` these are IsShell's args without the first one:
	// see PositionalArgs). Nil: unknown, so "$@" gives one unknown word "$@";
	// an empty non-nil slice: there are none.
	Args []string
	// RawDollars says the script is raw compose text in which compose has not yet
	// turned `$$` into `$`: `$$` is then the literal `$` the shell sees (so
	// `$$VAR` reads the shell variable VAR). Single-`$` references in such text
	// are compose interpolations; they are looked up in Env too. Default: false,
	// the script is what the container receives (compose already did it).
	RawDollars bool
}

// SyntaxError is a script the shell would refuse to run.
type SyntaxError struct {
	Line, Col int    // 1-based position in the script
	Msg       string // the parser's message
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: shell syntax error: %s (fix the quoting or the command there)", e.Line, e.Col, e.Msg)
}

// Parse returns every simple command of a POSIX/bash script in source order
// (inside if/for/while/case/functions/&&/||/pipelines/subshells/background jobs
// too; commands inside $(...) are not listed). Branches are all listed, whether
// or not they would run; variable values flow through them as the shell would,
// and a value that depends on a branch Parse cannot decide becomes unknown.
// `eval` of a known string is parsed and its commands listed at the eval's line.
// The error is a *SyntaxError with the line and column.
func Parse(script string, opt Options) ([]Command, error) {
	var collapsed []int
	if opt.RawDollars {
		script, collapsed = collapseDollars(script)
	}
	f, err := parseScript(script)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) && len(collapsed) > 0 {
			se.Col = rawCol(script, collapsed, se.Line, se.Col)
		}
		return nil, err
	}
	w := newWalker(script, opt)
	st := w.initialState()
	w.prescan(f)
	w.stmts(f.Stmts, st)
	return w.cmds, nil
}

func parseScript(script string) (*syntax.File, error) {
	p := syntax.NewParser(syntax.Variant(syntax.LangBash))
	f, err := p.Parse(strings.NewReader(script), "")
	if err == nil {
		return f, nil
	}
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return nil, &SyntaxError{Line: int(pe.Pos.Line()), Col: int(pe.Pos.Col()), Msg: pe.Text}
	}
	var le syntax.LangError
	if errors.As(err, &le) {
		return nil, &SyntaxError{Line: int(le.Pos.Line()), Col: int(le.Pos.Col()), Msg: le.Error()}
	}
	return nil, &SyntaxError{Line: 1, Col: 1, Msg: err.Error()}
}

// collapseDollars turns compose's `$$` into `$` and returns, for each collapsed
// pair, the offset in the output where the single `$` now stands.
func collapseDollars(s string) (string, []int) {
	if !strings.Contains(s, "$$") {
		return s, nil
	}
	var b strings.Builder
	var at []int
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '$' {
			at = append(at, b.Len())
			b.WriteByte('$')
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), at
}

// rawCol maps a column of the collapsed script back to the raw text.
func rawCol(collapsed string, at []int, line, col int) int {
	start := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(collapsed[start:], '\n')
		if i < 0 {
			return col
		}
		start += i + 1
	}
	off := start + col - 1
	n := 0
	for _, a := range at {
		if a >= start && a < off {
			n++
		}
	}
	return col + n
}

// Argv returns Words as plain strings (for the vLLM argv parser), with unknown
// words kept in their source form, and a parallel slice saying which are unknown.
func (c Command) Argv() ([]string, []bool) {
	argv := make([]string, len(c.Words))
	unknown := make([]bool, len(c.Words))
	for i, w := range c.Words {
		argv[i] = w.Text
		unknown[i] = w.Unknown
	}
	return argv, unknown
}

// PositionalArgs turns IsShell's args ($0 first) into Options.Args ($1 first):
// the shell's `sh -c SCRIPT` with no more arguments has no positional parameters.
func PositionalArgs(args []string) []string {
	if len(args) <= 1 {
		return []string{}
	}
	return append([]string{}, args[1:]...)
}

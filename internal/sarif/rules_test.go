package sarif

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// TestRulesCoverEmittedCodes reads the sources of the packages whose
// diagnostics `vllmctl check` prints (check, project, plan) and finds every
// code they can emit: the code argument of each c.diag call (followed through
// variables and the parameters of local closures), the Code of each
// Diagnostic literal and each d.Code assignment, and the two computed forms
// ("flag-" + a vllm.ProblemKind, "plan-" + a plan.Verdict) expanded from their
// constants. Every such code needs a rule; every rule needs such a code.
func TestRulesCoverEmittedCodes(t *testing.T) {
	s := &codeScan{fset: token.NewFileSet(), codes: map[string]string{}}
	s.kinds = s.constsOfType(t, "../vllm", "ProblemKind")
	s.verdicts = s.constsOfType(t, "../plan", "Verdict")
	if len(s.kinds) < 5 || len(s.verdicts) < 8 {
		t.Fatalf("found %d ProblemKind and %d Verdict constants: the scan no longer finds them", len(s.kinds), len(s.verdicts))
	}
	for _, dir := range []string{"../check", "../project", "../plan"} {
		s.scanDir(t, dir)
	}
	for _, e := range s.errs {
		t.Error(e)
	}
	// The scan must find the codes this test knows are there, or it is blind.
	for _, want := range []string{"unset-variable", "port-clash", "flag-unknown-flag", "flag-unverified", "required-variable", "yaml-syntax", "plan-kv-too-small", "bind-missing"} {
		if _, ok := s.codes[want]; !ok {
			t.Errorf("the source scan did not find %q: it no longer follows how codes are written", want)
		}
	}
	if len(s.codes) < 50 {
		t.Errorf("the source scan found %d codes, want 50+", len(s.codes))
	}
	for _, code := range slices.Sorted(maps.Keys(s.codes)) {
		if _, ok := RuleFor(code); !ok {
			t.Errorf("%s emits code %q, which has no rule: add it to rules in rules.go", s.codes[code], code)
		}
	}
	for _, r := range rules {
		if _, ok := s.codes[r.Code]; !ok {
			t.Errorf("rule %q: no package emits this code any more; remove the rule or fix its code", r.Code)
		}
	}
}

func TestRulesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Code] {
			t.Errorf("rule %q listed twice", r.Code)
		}
		seen[r.Code] = true
		if r.Short == "" || r.Help == "" || strings.HasSuffix(r.Short, ".") {
			t.Errorf("rule %q: want a short description without a final period and a help text, got %q / %q", r.Code, r.Short, r.Help)
		}
		switch r.Level {
		case project.Error, project.Warning, project.Info:
		default:
			t.Errorf("rule %q: level %q", r.Code, r.Level)
		}
	}
	all := Rules()
	if len(all) != len(rules) || !slices.IsSortedFunc(all, func(a, b Rule) int { return strings.Compare(a.Code, b.Code) }) {
		t.Errorf("Rules() returned %d rules, sorted=%v; want all %d sorted by code", len(all), slices.IsSortedFunc(all, func(a, b Rule) int { return strings.Compare(a.Code, b.Code) }), len(rules))
	}
	if r, ok := RuleFor("no-such-code"); ok || r.Code != "no-such-code" || r.Short == "" {
		t.Errorf("RuleFor(unknown) = %+v, %v; want a generic rule and false", r, ok)
	}
}

type codeScan struct {
	fset     *token.FileSet
	codes    map[string]string // code → first place that emits it
	errs     []string
	kinds    []string // vllm.ProblemKind values
	verdicts []string // plan.Verdict values
}

func (s *codeScan) parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		src, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(s.fset, n, src, 0)
		if err != nil {
			t.Fatalf("%v (the package may be mid-edit: run the test again)", err)
		}
		files = append(files, f)
	}
	return files
}

// constsOfType lists the string values of the constants declared with the type name.
func (s *codeScan) constsOfType(t *testing.T, dir, typ string) []string {
	var out []string
	for _, f := range s.parseDir(t, dir) {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typ {
				return true
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if u, err := strconv.Unquote(lit.Value); err == nil {
						out = append(out, u)
					}
				}
			}
			return true
		})
	}
	return out
}

func (s *codeScan) scanDir(t *testing.T, dir string) {
	for _, f := range s.parseDir(t, dir) {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			s.scanFunc(fd)
		}
	}
}

func (s *codeScan) add(code string, at token.Pos) {
	if _, ok := s.codes[code]; !ok {
		p := s.fset.Position(at)
		s.codes[code] = fmt.Sprintf("%s:%d", filepath.ToSlash(p.Filename), p.Line)
	}
}

func (s *codeScan) fail(at token.Pos, format string, args ...any) {
	p := s.fset.Position(at)
	s.errs = append(s.errs, fmt.Sprintf("%s:%d: %s; teach TestRulesCoverEmittedCodes this form", filepath.ToSlash(p.Filename), p.Line, fmt.Sprintf(format, args...)))
}

// scanFunc finds the code expressions in one function.
func (s *codeScan) scanFunc(fd *ast.FuncDecl) {
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "diag" && len(x.Args) >= 3 {
				s.resolve(fd, x.Args[2], 0)
			}
		case *ast.CompositeLit:
			if isDiagnosticType(x.Type) {
				for _, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
							s.resolve(fd, kv.Value, 0)
						}
					}
				}
			}
		case *ast.AssignStmt:
			for i, l := range x.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Code" && i < len(x.Rhs) {
					s.resolve(fd, x.Rhs[i], 0)
				}
			}
		}
		return true
	})
}

func isDiagnosticType(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name == "Diagnostic"
	case *ast.SelectorExpr:
		return t.Sel.Name == "Diagnostic"
	}
	return false
}

// resolve records the codes an expression can be.
func (s *codeScan) resolve(fd *ast.FuncDecl, e ast.Expr, depth int) {
	if depth > 5 {
		s.fail(e.Pos(), "code expression nested too deep")
		return
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			s.fail(x.Pos(), "code %s is not a string", x.Value)
			return
		}
		v, _ := strconv.Unquote(x.Value)
		s.add(v, x.Pos())
	case *ast.BinaryExpr:
		lit, ok := x.X.(*ast.BasicLit)
		if !ok || x.Op != token.ADD {
			s.fail(x.Pos(), "computed code")
			return
		}
		prefix, _ := strconv.Unquote(lit.Value)
		switch prefix {
		case "flag-": // "flag-" + string(pb.Kind)
			for _, k := range s.kinds {
				s.add(prefix+k, x.Pos())
			}
		case "plan-": // "plan-" + string(e.Verdict), for the verdicts that are findings
			for _, v := range s.verdicts {
				if v != "fits" && v != "not-covered" && v != "unknown" {
					s.add(prefix+v, x.Pos())
				}
			}
		default:
			s.fail(x.Pos(), "computed code with prefix %q", prefix)
		}
	case *ast.Ident:
		s.resolveIdent(fd, x, depth)
	default:
		s.fail(e.Pos(), "code expression %T", e)
	}
}

// resolveIdent follows a variable to what is assigned to it in the function,
// or a closure parameter to the arguments of the closure's calls.
func (s *codeScan) resolveIdent(fd *ast.FuncDecl, id *ast.Ident, depth int) {
	if paramIndex(fd.Type, id.Name) >= 0 {
		if fd.Name.Name != "diag" { // checker.diag's own code parameter: its calls are scanned
			s.fail(id.Pos(), "code is a parameter of %s", fd.Name.Name)
		}
		return
	}
	found := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			for i, l := range x.Lhs {
				if li, ok := l.(*ast.Ident); ok && li.Name == id.Name && len(x.Lhs) == len(x.Rhs) {
					if _, ok := x.Rhs[i].(*ast.FuncLit); ok {
						continue // a closure named like the variable: handled below
					}
					found = true
					s.resolve(fd, x.Rhs[i], depth+1)
				}
			}
			// A closure bound to a name whose parameter is the identifier:
			// the codes are the arguments of its calls.
			for i, r := range x.Rhs {
				fl, ok := r.(*ast.FuncLit)
				if !ok || i >= len(x.Lhs) || !encloses(fl, id) {
					continue
				}
				name, ok := x.Lhs[i].(*ast.Ident)
				idx := paramIndex(fl.Type, id.Name)
				if !ok || idx < 0 {
					continue
				}
				found = true
				calls := 0
				ast.Inspect(fd.Body, func(m ast.Node) bool {
					if c, ok := m.(*ast.CallExpr); ok {
						if f, ok := c.Fun.(*ast.Ident); ok && f.Name == name.Name && idx < len(c.Args) {
							calls++
							s.resolve(fd, c.Args[idx], depth+1)
						}
					}
					return true
				})
				if calls == 0 {
					s.fail(id.Pos(), "closure %s is never called", name.Name)
				}
			}
		}
		return true
	})
	if !found {
		s.fail(id.Pos(), "cannot follow code variable %s", id.Name)
	}
}

func encloses(n ast.Node, id *ast.Ident) bool {
	return n.Pos() <= id.Pos() && id.End() <= n.End()
}

func paramIndex(ft *ast.FuncType, name string) int {
	i := 0
	for _, f := range ft.Params.List {
		if len(f.Names) == 0 {
			i++
			continue
		}
		for _, n := range f.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

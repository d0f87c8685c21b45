package sarif

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, data, prop string }{
		{"plain text", "plain text", "plain text"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"file:a,b", "file:a,b", "file%3Aa%2Cb"},
		{"%0A is not a newline", "%250A is not a newline", "%250A is not a newline"},
		{"::error::injected", "::error::injected", "%3A%3Aerror%3A%3Ainjected"},
	} {
		if got := EscapeData(c.in); got != c.data {
			t.Errorf("EscapeData(%q) = %q, want %q", c.in, got, c.data)
		}
		if got := EscapeProperty(c.in); got != c.prop {
			t.Errorf("EscapeProperty(%q) = %q, want %q", c.in, got, c.prop)
		}
	}
}

func TestGitHubAnnotation(t *testing.T) {
	for _, c := range []struct {
		d     project.Diagnostic
		place Place
		want  string
	}{
		{project.Diagnostic{Pos: project.Pos{File: "configs/docker/profiles/a.yml", Line: 7, Col: 17}, Severity: project.Error, Code: "unset-variable",
			Path: "services.a.command", Message: "${KEY_A} is not set", Hint: "add KEY_A=... to .env"}, Place{},
			"::error file=configs/docker/profiles/a.yml,line=7,col=17,title=unset-variable::services.a.command: ${KEY_A} is not set (add KEY_A=... to .env)"},
		{project.Diagnostic{Pos: project.Pos{File: ".env", Line: 3}, Severity: project.Warning, Code: "env-unused", Message: "X is set"}, Place{Prefix: "examples/project"},
			"::warning file=examples/project/.env,line=3,title=env-unused::X is set"},
		{project.Diagnostic{Pos: project.Pos{File: "odd,name:x.yml"}, Severity: project.Info, Code: "bind-created", Message: "line one\nline two, 50%"}, Place{},
			"::notice file=odd%2Cname%3Ax.yml,title=bind-created::line one%0Aline two, 50%25"},
		{project.Diagnostic{Severity: project.Error, Code: "no-profiles", Message: "nothing matched"}, Place{Prefix: "p"},
			"::error title=no-profiles::nothing matched"},
	} {
		if got := GitHubAnnotation(c.d, c.place); got != c.want {
			t.Errorf("GitHubAnnotation(%+v, %+v)\n got %s\nwant %s", c.d, c.place, got, c.want)
		}
	}
}

func TestWriteGitHub(t *testing.T) {
	ds := checkDiags(t)
	var buf bytes.Buffer
	if err := WriteGitHub(&buf, ds, Place{Prefix: "ci"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(ds) {
		t.Fatalf("%d lines for %d findings:\n%s", len(lines), len(ds), buf.String())
	}
	for i, l := range lines {
		cmd := map[project.Severity]string{project.Error: "::error ", project.Warning: "::warning ", project.Info: "::notice "}[ds[i].Severity]
		if !strings.HasPrefix(l, cmd+"file=ci/") || !strings.Contains(l, ",title="+ds[i].Code+"::") {
			t.Errorf("line %d: %q, want %sfile=ci/...,title=%s::...", i, l, cmd, ds[i].Code)
		}
		// the message part holds no raw newline and round-trips
		_, msg, _ := strings.Cut(l[2:], "::")
		if strings.ContainsAny(msg, "\r\n") || unescapeData(msg) != ds[i].Text() {
			t.Errorf("line %d: message %q does not unescape to %q", i, msg, ds[i].Text())
		}
	}
}

// unescapeData is the runner's reading of a command's message.
func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

package sarif

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
)

// GitHub Actions workflow commands: a line "::error file=F,line=L,col=C,title=T::message"
// on a step's output becomes an annotation on that line of the pull request.
// The escaping is the runner's (actions/toolkit, command.ts): in the message
// %, CR and LF; in property values also : and ,.

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// EscapeData escapes a workflow command's message.
func EscapeData(s string) string { return dataEscaper.Replace(s) }

// EscapeProperty escapes a workflow command's property value.
func EscapeProperty(s string) string { return propertyEscaper.Replace(s) }

// githubCommand is the workflow command of a severity: error, warning or notice.
func githubCommand(s project.Severity) string {
	switch s {
	case project.Error:
		return "error"
	case project.Info:
		return "notice"
	}
	return "warning"
}

// GitHubAnnotation is the workflow command line of one diagnostic, without
// the newline.
func GitHubAnnotation(d project.Diagnostic, place Place) string {
	var props []string
	if d.File != "" {
		file, _ := place.RepoPath(d.File) // the runner resolves a path outside the repository as given
		props = append(props, "file="+EscapeProperty(file))
		if d.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", d.Line))
			if d.Col > 0 {
				props = append(props, fmt.Sprintf("col=%d", d.Col))
			}
		}
	}
	if d.Code != "" {
		props = append(props, "title="+EscapeProperty(d.Code))
	}
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(githubCommand(d.Severity))
	if len(props) > 0 {
		b.WriteByte(' ')
		b.WriteString(strings.Join(props, ","))
	}
	b.WriteString("::")
	b.WriteString(EscapeData(d.Text()))
	return b.String()
}

// WriteGitHub writes one workflow command per diagnostic.
func WriteGitHub(w io.Writer, diags []project.Diagnostic, place Place) error {
	bw := bufio.NewWriter(w)
	for _, d := range diags {
		bw.WriteString(GitHubAnnotation(d, place))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

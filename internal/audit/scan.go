package audit

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Kind is what a scanned file is, from where it sits and how it is named.
type Kind string

const (
	KindProfile    Kind = "profile"     // a file of the profiles folder
	KindBase       Kind = "base"        // the base file merged under every profile
	KindStandalone Kind = "stand-alone" // any other compose file: the only kind ever proposed for adoption
	KindHistory    Kind = "history"     // a copy in a history folder
	KindArchived   Kind = "archived"    // in an archive folder, or marked archived or deprecated in its name
	KindRejected   Kind = "rejected"    // marked rejected in its name (x.rejected-20251019.yml)
)

// retired tells whether a kind is never proposed as live.
func (k Kind) retired() bool { return k == KindArchived || k == KindRejected }

var composeKey = regexp.MustCompile(`(?m)^services:\s*$`)

func isCompose(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && composeKey.Match(b)
}

// nameMark finds a retirement word in a file name: x.rejected-20251019.yml,
// x-archived_2025-10-19.yaml, x.yml.rejected-20251019, x.deprecated.yml.
var nameMark = regexp.MustCompile(`(?i)(?:^|[._-])(rejected|archived|deprecated)(?:$|[._-])`)

// archiveDirName tells a folder that holds retired configs.
var archiveDirName = regexp.MustCompile(`(?i)archive|deprecated|rejected|retired|obsolete|attic`)

// composeName tells whether a file name is a compose file to scan: .yml or
// .yaml, or a retired copy whose mark follows the extension (x.yml.rejected-DATE).
func composeName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yml", ".yaml":
		return true
	}
	l := strings.ToLower(name)
	return (strings.Contains(l, ".yml.") || strings.Contains(l, ".yaml.")) && nameMark.MatchString(name)
}

// retiredFolder names the first folder of rel (a path relative to the root)
// that holds retired configs, or "".
func retiredFolder(rel string) string {
	parts := strings.Split(rel, "/")
	for i := 0; i < len(parts)-1; i++ {
		if archiveDirName.MatchString(parts[i]) {
			return strings.Join(parts[:i+1], "/")
		}
	}
	return ""
}

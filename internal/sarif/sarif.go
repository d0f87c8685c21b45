// Package sarif renders check's diagnostics for CI systems: a SARIF 2.1.0 log
// (one run, a rule per diagnostic code, results located relative to the
// repository root) for GitHub code scanning and other SARIF viewers, and
// GitHub Actions workflow commands (::error file=...::) that annotate the
// lines of a pull request. It owns the rule table that describes every code.
// Output is deterministic: the same diagnostics give the same bytes.
package sarif

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/vllmctl/vllmctl/internal/project"
)

// SchemaURI is the $schema of the logs Write produces: the OASIS SARIF 2.1.0
// schema (errata 01), which testdata/sarif-schema-2.1.0.json holds.
const SchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// SrcRoot is the uriBaseId of every location: the repository root. GitHub
// code scanning and the SARIF viewers resolve relative URIs against it.
const SrcRoot = "%SRCROOT%"

// InformationURI is the tool's home page in the log.
const InformationURI = "https://github.com/vllmctl/vllmctl"

// Options say who wrote the log and where the project sits in the repository.
type Options struct {
	// ToolVersion is vllmctl's version (tool.driver.version); "" omits it.
	ToolVersion string
	Place
}

// Place says where the project sits in its repository: diagnostics hold
// paths relative to the project root (absolute for files outside it), code
// scanning and annotations want them relative to the repository root.
type Place struct {
	// Prefix is the project root relative to the repository root, with
	// forward slashes ("" when the project is the repository).
	Prefix string
	// Root is the project root, absolute; with it, absolute paths of files
	// elsewhere in the repository become repository-relative too.
	Root string
}

// Log is a SARIF 2.1.0 log with the subset of properties vllmctl writes.
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

// Run is one run of vllmctl check.
type Run struct {
	Tool       Tool     `json:"tool"`
	ColumnKind string   `json:"columnKind,omitempty"`
	Results    []Result `json:"results"`
}

// Tool is the run's tool; vllmctl has a driver only.
type Tool struct {
	Driver Driver `json:"driver"`
}

// Driver describes vllmctl and its rules.
type Driver struct {
	Name           string       `json:"name"`
	Version        string       `json:"version,omitempty"`
	InformationURI string       `json:"informationUri"`
	Rules          []Descriptor `json:"rules"`
}

// Descriptor is a SARIF reportingDescriptor: one rule.
type Descriptor struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     Text            `json:"shortDescription"`
	FullDescription      Text            `json:"fullDescription"`
	Help                 Text            `json:"help"`
	HelpURI              string          `json:"helpUri,omitempty"`
	DefaultConfiguration Configuration   `json:"defaultConfiguration"`
	Properties           *RuleProperties `json:"properties,omitempty"`
}

// Text is a SARIF message or multiformatMessageString with plain text only.
type Text struct {
	Text string `json:"text"`
}

// Configuration is a rule's default reportingConfiguration.
type Configuration struct {
	Level Level `json:"level"`
}

// RuleProperties are the property bag of a rule: tags, and for security
// rules the severity GitHub code scanning ranks alerts by.
type RuleProperties struct {
	Tags             []string `json:"tags,omitempty"`
	SecuritySeverity string   `json:"security-severity,omitempty"`
}

// Level is a SARIF result level.
type Level string

// Levels vllmctl uses: error and warning as check says, note for info.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNote    Level = "note"
)

// LevelOf maps a diagnostic severity to a SARIF level.
func LevelOf(s project.Severity) Level {
	switch s {
	case project.Error:
		return LevelError
	case project.Info:
		return LevelNote
	}
	return LevelWarning
}

// Result is one finding.
type Result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               Level             `json:"level"`
	Message             Text              `json:"message"`
	Locations           []Location        `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          *ResultProperties `json:"properties,omitempty"`
}

// ResultProperties keep the diagnostic's fields that SARIF has no place for.
type ResultProperties struct {
	Path string `json:"path,omitempty"` // dotted path in the compose model
	Hint string `json:"hint,omitempty"` // the fix, also in the message
}

// Location is where a result was found.
type Location struct {
	PhysicalLocation PhysicalLocation `json:"physicalLocation"`
}

// PhysicalLocation is a file and a region in it.
type PhysicalLocation struct {
	ArtifactLocation ArtifactLocation `json:"artifactLocation"`
	Region           *Region          `json:"region,omitempty"`
}

// ArtifactLocation is a file, relative to SrcRoot unless it is absolute.
type ArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

// Region is a line and column, both from 1.
type Region struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// fingerprintKey names vllmctl's partial fingerprint: a hash of the code, the
// file, the dotted path and the message, so an alert keeps its identity when
// lines move above it.
const fingerprintKey = "vllmctlFinding/v1"

// Build turns diagnostics into a SARIF log: every known rule (so a viewer can
// show what check looks for), then a rule for each unknown code met, and one
// result per diagnostic in the given order.
func Build(diags []project.Diagnostic, opts Options) *Log {
	all := Rules()
	index := make(map[string]int, len(all))
	descs := make([]Descriptor, 0, len(all))
	for i, r := range all {
		index[r.Code] = i
		descs = append(descs, descriptor(r))
	}
	results := make([]Result, 0, len(diags))
	for _, d := range diags {
		i, ok := index[d.Code]
		if !ok {
			r, _ := RuleFor(d.Code)
			i = len(descs)
			index[d.Code] = i
			descs = append(descs, descriptor(r))
		}
		results = append(results, result(d, i, opts.Place))
	}
	return &Log{
		Schema:  SchemaURI,
		Version: "2.1.0",
		Runs: []Run{{
			Tool: Tool{Driver: Driver{Name: "vllmctl", Version: opts.ToolVersion,
				InformationURI: InformationURI, Rules: descs}},
			ColumnKind: "unicodeCodePoints",
			Results:    results,
		}},
	}
}

// Write writes the SARIF log of diags to w as indented JSON.
func Write(w io.Writer, diags []project.Diagnostic, opts Options) error {
	b, err := json.MarshalIndent(Build(diags, opts), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func descriptor(r Rule) Descriptor {
	d := Descriptor{
		ID:                   r.Code,
		Name:                 ruleName(r.Code),
		ShortDescription:     Text{r.Short},
		FullDescription:      Text{r.Short + ". " + r.Help},
		Help:                 Text{r.Help},
		HelpURI:              InformationURI + "#what-check-finds",
		DefaultConfiguration: Configuration{LevelOf(r.Level)},
	}
	if r.Security {
		d.Properties = &RuleProperties{Tags: []string{"security"}, SecuritySeverity: "8.0"}
	}
	return d
}

// ruleName is the code in PascalCase ("unset-variable" → "UnsetVariable"), the
// form SARIF suggests for reportingDescriptor.name.
func ruleName(code string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(code, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

func result(d project.Diagnostic, ruleIndex int, place Place) Result {
	r := Result{
		RuleID:    d.Code,
		RuleIndex: ruleIndex,
		Level:     LevelOf(d.Severity),
		Message:   Text{d.Text()},
	}
	if d.File != "" {
		uri, base := fileURI(d.File, place)
		pl := PhysicalLocation{ArtifactLocation: ArtifactLocation{URI: uri, URIBaseID: base}}
		if d.Line > 0 {
			pl.Region = &Region{StartLine: d.Line, StartColumn: max(d.Col, 0)}
		}
		r.Locations = []Location{{PhysicalLocation: pl}}
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{d.Code, d.File, d.Path, d.Message}, "\x00")))
	r.PartialFingerprints = map[string]string{fingerprintKey: hex.EncodeToString(sum[:16])}
	if d.Path != "" || d.Hint != "" {
		r.Properties = &ResultProperties{Path: d.Path, Hint: d.Hint}
	}
	return r
}

// fileURI is the URI of a diagnostic's file and its uriBaseId: a path
// relative to the repository root under SrcRoot, or a file: URI for a file
// outside the repository.
func fileURI(file string, place Place) (uri, base string) {
	p, inRepo := place.RepoPath(file)
	switch {
	case !inRepo && !isAbs(p): // ../x above the repository: relative, with no base to resolve it against
		return (&url.URL{Path: p}).String(), ""
	case !inRepo:
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // C:/x → /C:/x
		}
		return (&url.URL{Scheme: "file", Path: p}).String(), ""
	}
	return (&url.URL{Path: p}).String(), SrcRoot
}

// RepoPath is a diagnostic's file as a slash-separated path relative to the
// repository root, and true; or the file's absolute path, slash-separated,
// and false when it lies outside the repository (or, for an absolute path,
// Root is unknown).
func (pl Place) RepoPath(file string) (string, bool) {
	if isAbs(file) {
		if pl.Root == "" {
			return filepath.ToSlash(file), false
		}
		r, err := filepath.Rel(pl.Root, file)
		if err != nil {
			return filepath.ToSlash(file), false
		}
		rp, ok := pl.join(r)
		if !ok {
			return filepath.ToSlash(file), false
		}
		return rp, true
	}
	if rp, ok := pl.join(file); ok {
		return rp, true
	}
	return path.Clean(filepath.ToSlash(file)), false
}

// join puts a project-relative path under Prefix; false when it climbs out
// of the repository.
func (pl Place) join(rel string) (string, bool) {
	p := path.Clean(path.Join(pl.Prefix, filepath.ToSlash(rel)))
	if p == ".." || strings.HasPrefix(p, "../") {
		return p, false
	}
	return p, true
}

// isAbs is true for an absolute path of this OS or a slash-rooted one.
func isAbs(file string) bool {
	return filepath.IsAbs(file) || strings.HasPrefix(filepath.ToSlash(file), "/")
}

package sarif

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vllmctl/vllmctl/internal/check"
	"github.com/vllmctl/vllmctl/internal/project"
)

// testdata/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 schema (errata 01,
// Schemata/sarif-schema-2.1.0.json of github.com/oasis-tcs/sarif-spec at
// 0a8091f7d4057e57b6d8d9b56129e5f918747b34), byte for byte.
var sarifSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // uri, uri-reference and date-time are checked too
	if err := c.AddResource(SchemaURI, doc); err != nil {
		return nil, err
	}
	return c.Compile(SchemaURI)
})

// validate checks SARIF bytes against the official schema.
func validate(t *testing.T, b []byte) error {
	t.Helper()
	sch, err := sarifSchema()
	if err != nil {
		t.Fatalf("compiling the SARIF schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the log is not JSON: %v\n%s", err, b)
	}
	return sch.Validate(inst)
}

// checkDiags runs check on testdata/project, a folder with errors and warnings.
func checkDiags(t *testing.T) []project.Diagnostic {
	t.Helper()
	p, err := project.Load(context.Background(), project.Options{Root: filepath.Join("testdata", "project")})
	if err != nil {
		t.Fatal(err)
	}
	ds := check.Run(p, check.Options{})
	codes := map[string]project.Severity{}
	for _, d := range ds {
		codes[d.Code] = d.Severity
	}
	for code, sev := range map[string]project.Severity{"unset-variable": project.Error, "flag-unknown-flag": project.Error,
		"hardcoded-secret": project.Error, "port-clash": project.Warning, "env-unused": project.Warning, "gpu-util": project.Error} {
		if codes[code] != sev {
			t.Fatalf("check on testdata/project: want a %s %s finding, got %v", sev, code, codes)
		}
	}
	return ds
}

// edgeDiags are the shapes real findings can take that testdata/project lacks.
var edgeDiags = []project.Diagnostic{
	{Severity: project.Error, Code: "no-profiles", Message: "no position at all"},
	{Pos: project.Pos{File: "vllmctl.yaml"}, Severity: project.Warning, Code: "unknown-setting", Message: "a file without a line"},
	{Pos: project.Pos{File: ".env", Line: 3}, Severity: project.Warning, Code: "env-unused", Message: "a line without a column"},
	{Pos: project.Pos{File: "configs/docker/profiles/with space:colon.yml", Line: 2, Col: 5}, Severity: project.Info, Code: "bind-created",
		Path: "services.a.volumes.0", Message: "an info finding\non two lines, 100% odd", Hint: "a hint, with: punctuation"},
	{Pos: project.Pos{File: "/srv/elsewhere/compose.yml", Line: 1, Col: 1}, Severity: project.Error, Code: "yaml-syntax", Message: "an absolute path"},
	{Pos: project.Pos{File: "../outside.yml", Line: 4, Col: 2}, Severity: project.Warning, Code: "future-check", Message: "a code this build has no rule for"},
}

func TestLogValidatesAgainstSchema(t *testing.T) {
	cases := map[string][]project.Diagnostic{
		"check findings": checkDiags(t),
		"edge shapes":    edgeDiags,
		"no findings":    {},
	}
	for name, ds := range cases {
		t.Run(name, func(t *testing.T) {
			for _, prefix := range []string{"", "deploy/vllm"} {
				var buf bytes.Buffer
				if err := Write(&buf, ds, Options{ToolVersion: "v1.2.3", Place: Place{Prefix: prefix}}); err != nil {
					t.Fatal(err)
				}
				if err := validate(t, buf.Bytes()); err != nil {
					t.Fatalf("prefix %q: the log does not match the SARIF 2.1.0 schema: %v\n%s", prefix, err, clip(buf.Bytes()))
				}
				var generic struct {
					Runs []struct {
						Results []json.RawMessage `json:"results"`
					} `json:"runs"`
				}
				if err := json.Unmarshal(buf.Bytes(), &generic); err != nil || len(generic.Runs) != 1 || generic.Runs[0].Results == nil || len(generic.Runs[0].Results) != len(ds) {
					t.Fatalf("want one run with %d results (an array, also when empty), got %s (%v)", len(ds), clip(buf.Bytes()), err)
				}
			}
		})
	}
}

// TestSchemaRejectsBrokenLogs shows the validator validates: logs broken in
// ways a writer could break them fail.
func TestSchemaRejectsBrokenLogs(t *testing.T) {
	breakers := map[string]func(*Log){
		"unknown level":           func(l *Log) { l.Runs[0].Results[0].Level = "fatal" },
		"line 0":                  func(l *Log) { l.Runs[0].Results[0].Locations[0].PhysicalLocation.Region.StartLine = 0 },
		"wrong version":           func(l *Log) { l.Version = "2.0.0" },
		"no driver name":          func(l *Log) { l.Runs[0].Tool.Driver.Name = "" },
		"relative informationUri": func(l *Log) { l.Runs[0].Tool.Driver.InformationURI = "vllmctl" },
		"bad column kind":         func(l *Log) { l.Runs[0].ColumnKind = "bytes" },
	}
	ds := []project.Diagnostic{{Pos: project.Pos{File: "a.yml", Line: 2, Col: 3}, Severity: project.Error, Code: "yaml-syntax", Message: "m"}}
	for name, breakIt := range breakers {
		t.Run(name, func(t *testing.T) {
			l := Build(ds, Options{})
			breakIt(l)
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			if name == "no driver name" { // omitempty is not on name: drop the key itself
				b = bytes.Replace(b, []byte(`"name":"",`), nil, 1)
			}
			if err := validate(t, b); err == nil {
				t.Fatalf("a log with %s passed the schema:\n%s", name, clip(b))
			}
		})
	}
}

// clip keeps a failure message readable: the rules alone are 30 KB.
func clip(b []byte) string {
	if i := bytes.Index(b, []byte(`"results"`)); i > 0 {
		return "... " + string(b[i:])
	}
	return string(b)
}

func TestBuild(t *testing.T) {
	ds := append(checkDiags(t), edgeDiags...)
	l := Build(ds, Options{ToolVersion: "v1.2.3", Place: Place{Prefix: "deploy/vllm", Root: "/work/repo/deploy/vllm"}})
	if len(l.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(l.Runs))
	}
	run := l.Runs[0]
	drv := run.Tool.Driver
	if drv.Name != "vllmctl" || drv.Version != "v1.2.3" || drv.InformationURI != InformationURI || l.Version != "2.1.0" || l.Schema != SchemaURI {
		t.Errorf("driver %+v, log version %q schema %q", drv, l.Version, l.Schema)
	}
	if len(drv.Rules) != len(rules)+1 { // every rule, and one for "future-check"
		t.Errorf("%d rules, want %d", len(drv.Rules), len(rules)+1)
	}
	ids := map[string]bool{}
	for _, r := range drv.Rules {
		if ids[r.ID] {
			t.Errorf("rule %s listed twice", r.ID)
		}
		ids[r.ID] = true
		if r.ShortDescription.Text == "" || r.Help.Text == "" || r.Name == "" {
			t.Errorf("rule %s lacks a description, help or name: %+v", r.ID, r)
		}
		want, _ := RuleFor(r.ID)
		if got := r.Properties != nil && r.Properties.SecuritySeverity != "" && slices.Contains(r.Properties.Tags, "security"); got != want.Security {
			t.Errorf("rule %s: security properties %+v, want security=%v", r.ID, r.Properties, want.Security)
		}
	}
	if r, _ := RuleFor("hardcoded-secret"); !r.Security {
		t.Error("hardcoded-secret is not a security rule")
	}
	if n := drv.Rules[len(drv.Rules)-1]; n.ID != "future-check" || n.DefaultConfiguration.Level != LevelWarning {
		t.Errorf("last rule %+v, want the generic rule of future-check", n)
	}
	if len(run.Results) != len(ds) {
		t.Fatalf("%d results for %d diagnostics", len(run.Results), len(ds))
	}
	levels := map[project.Severity]Level{project.Error: LevelError, project.Warning: LevelWarning, project.Info: LevelNote}
	for i, d := range ds {
		r := run.Results[i]
		if r.RuleID != d.Code || drv.Rules[r.RuleIndex].ID != d.Code {
			t.Errorf("result %d: ruleId %s, rules[%d] = %s; want %s", i, r.RuleID, r.RuleIndex, drv.Rules[r.RuleIndex].ID, d.Code)
		}
		if r.Level != levels[d.Severity] {
			t.Errorf("result %d (%s): level %s, want %s", i, d.Severity, r.Level, levels[d.Severity])
		}
		if r.Message.Text != d.Text() || !strings.Contains(r.Message.Text, d.Message) || (d.Hint != "" && !strings.Contains(r.Message.Text, "("+d.Hint+")")) {
			t.Errorf("result %d: message %q lacks the message or hint of %+v", i, r.Message.Text, d)
		}
		if d.File == "" {
			if len(r.Locations) != 0 {
				t.Errorf("result %d: a location for a finding without a file: %+v", i, r.Locations)
			}
			continue
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %d: %d locations", i, len(r.Locations))
		}
		pl := r.Locations[0].PhysicalLocation
		switch {
		case strings.HasPrefix(d.File, "/"):
			if pl.ArtifactLocation.URI != "file://"+d.File || pl.ArtifactLocation.URIBaseID != "" {
				t.Errorf("result %d: absolute %s became %+v", i, d.File, pl.ArtifactLocation)
			}
		default:
			if pl.ArtifactLocation.URIBaseID != SrcRoot || !strings.HasPrefix(pl.ArtifactLocation.URI, "deploy/") && !strings.HasPrefix(d.File, "../") {
				t.Errorf("result %d: %s became %+v, want deploy/vllm/... under %s", i, d.File, pl.ArtifactLocation, SrcRoot)
			}
		}
		switch {
		case d.Line == 0 && pl.Region != nil:
			t.Errorf("result %d: a region for a finding without a line: %+v", i, pl.Region)
		case d.Line > 0 && (pl.Region == nil || pl.Region.StartLine != d.Line || pl.Region.StartColumn != d.Col):
			t.Errorf("result %d: region %+v, want line %d col %d", i, pl.Region, d.Line, d.Col)
		}
	}
	uris := map[string]string{}
	for i, d := range ds {
		if d.File != "" {
			uris[d.File] = run.Results[i].Locations[0].PhysicalLocation.ArtifactLocation.URI
		}
	}
	for file, want := range map[string]string{
		"configs/docker/profiles/alpha.yml": "deploy/vllm/configs/docker/profiles/alpha.yml",
		".env":                              "deploy/vllm/.env",
		"configs/docker/profiles/with space:colon.yml": "deploy/vllm/configs/docker/profiles/with%20space:colon.yml",
		"../outside.yml":             "deploy/outside.yml",
		"/srv/elsewhere/compose.yml": "file:///srv/elsewhere/compose.yml",
	} {
		if uris[file] != want {
			t.Errorf("%s: uri %q, want %q", file, uris[file], want)
		}
	}
}

func TestDeterministicAndFingerprints(t *testing.T) {
	ds := checkDiags(t)
	var a, b bytes.Buffer
	if err := Write(&a, ds, Options{ToolVersion: "v1"}); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, ds, Options{ToolVersion: "v1"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) || a.Len() == 0 {
		t.Fatal("two writes of the same findings differ")
	}
	d := ds[0]
	fp := func(d project.Diagnostic) string {
		return Build([]project.Diagnostic{d}, Options{}).Runs[0].Results[0].PartialFingerprints[fingerprintKey]
	}
	moved := d
	moved.Line += 7
	other := d
	other.Message += " (changed)"
	if fp(d) == "" || fp(d) != fp(moved) {
		t.Errorf("a finding moved down 7 lines changed its fingerprint: %q vs %q", fp(d), fp(moved))
	}
	if fp(d) == fp(other) {
		t.Errorf("findings with different messages share the fingerprint %q", fp(d))
	}
}

func TestRepoPath(t *testing.T) {
	root := filepath.Join(string(filepath.Separator)+"repo", "deploy", "vllm")
	for _, c := range []struct {
		file   string
		place  Place
		want   string
		inRepo bool
	}{
		{"configs/a.yml", Place{}, "configs/a.yml", true},
		{"configs/a.yml", Place{Prefix: "."}, "configs/a.yml", true},
		{"configs/a.yml", Place{Prefix: "examples/project"}, "examples/project/configs/a.yml", true},
		{"./configs/../.env", Place{Prefix: "p"}, "p/.env", true},
		{filepath.Join("configs", "b.yml"), Place{Prefix: "p"}, "p/configs/b.yml", true},
		{"../x.yml", Place{Prefix: "p/q"}, "p/x.yml", true},
		{"../x.yml", Place{}, "../x.yml", false},
		{filepath.Join(root, "..", "outside", "c.yml"), Place{Prefix: "deploy/vllm", Root: root}, "deploy/outside/c.yml", true},
		{filepath.Join(root, "..", "..", "..", "etc", "c.yml"), Place{Prefix: "deploy/vllm", Root: root}, filepath.ToSlash(filepath.Join(root, "..", "..", "..", "etc", "c.yml")), false},
		{filepath.Join(root, "c.yml"), Place{Prefix: "deploy/vllm"}, filepath.ToSlash(filepath.Join(root, "c.yml")), false},
	} {
		got, in := c.place.RepoPath(c.file)
		if got != c.want || in != c.inRepo {
			t.Errorf("%+v.RepoPath(%q) = %q, %v; want %q, %v", c.place, c.file, got, in, c.want, c.inRepo)
		}
	}
}

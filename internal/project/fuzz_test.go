package project

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
)

// skipKnown lets a fuzz run look past the findings already recorded under
// testdata/fuzz (see RELIABILITY.md): FuzzLoad passes over YAML anchors
// (alias cycles hang Source.index) and null values (compose-go panics on
// several: a null service over a base file, a null volumes: section) and compares compose-go's "additional properties 'a', 'b' not
// allowed" in any order (it lists them in map order), FuzzParseEnv over keys without a line (ParseEnv finds lines
// with its own scanner, which reads fewer forms than compose's parser: a bare
// name on the last line, "KEY: value", "exportKEY=v"). Off by default: every
// assertion holds.
//
//	go test ./internal/project -run XXX -fuzz FuzzLoad -fuzztime 65s -args -fuzz.skip-known
var skipKnown = flag.Bool("fuzz.skip-known", false, "fuzz past the findings recorded in testdata/fuzz")

// loadDeadline is how long one Load of a few hundred bytes may take before
// the fuzz target calls it a hang.
const loadDeadline = 5 * time.Second

// fuzzFiles are the files FuzzLoad writes: the base compose file, one
// profile and the root .env.
var fuzzFiles = map[string]bool{
	"configs/docker/docker-compose.yml": true,
	"configs/docker/profiles/a.yml":     true,
	".env":                              true,
	"":                                  true, // a finding about the project as a whole
}

// FuzzLoad writes an arbitrary base compose file, profile and .env into a
// fresh project folder and loads it: Load must neither panic nor hang; when
// it succeeds the profile is there, loading again gives the same findings,
// and every finding has a code, a severity and a place in one of the files.
//
//	go test ./internal/project -run XXX -fuzz FuzzLoad -fuzztime 65s
func FuzzLoad(f *testing.F) {
	base := `services:
  vllm:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
    volumes: ["hf:/root/.cache/huggingface"]
volumes: {hf: {}}
`
	f.Add([]byte(`services:
  vllm:
    command: ["--model=${MODEL:-Qwen/Qwen3-8B-AWQ}", "--api-key=${KEY}", "--max-model-len=32768"]
    ports: ["${PORT:-5001}:8000"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
    x-vllmctl: {group: g, watchdog: {interval: 5s}}
`), []byte(base), []byte("KEY=secret-1234\nPORT=5002\n"))
	f.Add([]byte(`services:
  vllm:
    image: vllm/vllm-openai:${TAG:?set TAG}
    entrypoint: ["/bin/sh", "-c"]
    command: >
      vllm serve Qwen/Qwen3-8B
      # a comment compose keeps
      --tensor-parallel-size 2
    env_file: [missing.env]
    extends: {file: nowhere.yml, service: x}
`), []byte(base), []byte("export TAG='v0.10.1'\n# comment\nA=\"multi\nline\"\n"))
	f.Add([]byte(`include: [other.yml]
services:
  web: {image: nginx, profiles: [ui], depends_on: [vllm]}
  vllm: {build: {context: ., args: {V: "0.9"}}, command: --model m --gpu-memory-utilization ${U}}
`), []byte(""), []byte("U=0.9\r\nB=${U}\n"))
	f.Add([]byte("services: [1, 2]\n"), []byte("{{{"), []byte("=\n"))
	f.Add([]byte("services:\n  a: &x {image: vllm/vllm-openai}\n  b: {<<: *x, command: [--model, m]}\n"), []byte("version: '3'\n"), []byte(""))
	f.Fuzz(func(t *testing.T, overlay, baseFile, env []byte) {
		if len(overlay)+len(baseFile)+len(env) > 4<<10 {
			return // a few KB is what a compose file of one engine holds
		}
		if *skipKnown && (bytes.Contains(overlay, []byte("&")) || bytes.Contains(baseFile, []byte("&")) || nullService(overlay) || nullService(baseFile)) {
			return
		}
		dir := t.TempDir()
		for rel, data := range map[string][]byte{
			"configs/docker/profiles/a.yml":     overlay,
			"configs/docker/docker-compose.yml": baseFile,
			".env":                              env,
		} {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		first := loadWithin(t, dir)
		if first == nil {
			return
		}
		if len(first.Profiles) != 1 || first.Profiles[0].Name != "a" || first.Profiles[0].File != "configs/docker/profiles/a.yml" {
			var names []string
			for _, pr := range first.Profiles {
				names = append(names, pr.Name+"="+pr.File)
			}
			t.Fatalf("Load: profiles %v, want a=configs/docker/profiles/a.yml", names)
		}
		d1 := diagLines(t, first)
		second := loadWithin(t, dir)
		if second == nil {
			t.Fatal("Load succeeded once and failed on the same files")
		}
		d2 := diagLines(t, second)
		if *skipKnown {
			d1, d2 = sortedProps(d1), sortedProps(d2)
		}
		if !slices.Equal(d1, d2) {
			t.Fatalf("Load is not deterministic:\nfirst:\n%s\nsecond:\n%s", strings.Join(d1, "\n"), strings.Join(d2, "\n"))
		}
	})
}

// loadWithin loads the project in dir, failing t when Load takes longer than
// loadDeadline; nil when Load returned an error (a project it refuses).
func loadWithin(t *testing.T, dir string) *Project {
	t.Helper()
	type result struct {
		p   *Project
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		p, err := Load(ctx, Options{Root: dir})
		done <- result{p, err}
	}()
	timer := time.NewTimer(loadDeadline)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil && r.err.Error() == "" {
			t.Fatal("Load returned an error with no message")
		}
		return r.p
	case <-timer.C:
		t.Fatalf("Load did not return within %s", loadDeadline)
	}
	return nil
}

// diagLines checks every finding of a loaded project and returns them as text.
func diagLines(t *testing.T, p *Project) []string {
	t.Helper()
	all := slices.Clone(p.Diags)
	for _, pr := range p.Profiles {
		all = append(all, pr.Diags...)
	}
	var out []string
	for _, d := range all {
		if d.Code == "" || d.Message == "" {
			t.Fatalf("a finding without a code or a message: %#v", d)
		}
		if d.Severity != Error && d.Severity != Warning && d.Severity != Info {
			t.Fatalf("a finding of severity %q: %#v", d.Severity, d)
		}
		if !fuzzFiles[d.File] {
			t.Fatalf("a finding placed in %q, a file the project does not have: %s", d.File, d)
		}
		if d.Line < 0 || d.Col < 0 {
			t.Fatalf("a finding at a negative position: %s", d)
		}
		out = append(out, d.String())
	}
	return out
}

// FuzzParseEnv reads arbitrary bytes as a .env file: ParseEnv must not panic;
// a file it refuses gives one env-syntax finding on a line of the file and no
// values; a file it reads gives every key a line of the file, and no line to
// a key it does not hold.
//
//	go test ./internal/project -run XXX -fuzz FuzzParseEnv -fuzztime 65s
func FuzzParseEnv(f *testing.F) {
	for _, s := range []string{
		"A=1\nB=two\n",
		"# comment\nexport KEY='quoted value'\n\nX=\"esc\\n\\\"q\\\"\"\n",
		"A=${B:-def}\nC=$A\nD='${A}'\n",
		"A=\"multi\nline\nvalue\"\nB=after\n",
		"A=1\r\nB=2\r\n",
		"=novalue\n",
		"A=1 # trailing comment\nB='x' # c\n",
		"export\nexport=1\n",
		"A=\"unterminated\n",
	} {
		f.Add([]byte(s))
	}
	lookup := func(k string) (string, bool) {
		if k == "HOME" {
			return "/home/op", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) + 1
		type parsed struct {
			e     *EnvFile
			diags []Diagnostic
		}
		done := make(chan parsed, 1)
		go func() { e, d := ParseEnv(".env", data, lookup); done <- parsed{e, d} }()
		timer := time.NewTimer(loadDeadline)
		defer timer.Stop()
		var r parsed
		select {
		case r = <-done:
		case <-timer.C:
			t.Fatalf("ParseEnv did not return within %s on %d bytes", loadDeadline, len(data))
		}
		e, diags := r.e, r.diags
		if e == nil {
			t.Fatal("ParseEnv returned no EnvFile")
		}
		if e.Path != ".env" {
			t.Fatalf("Path %q, want .env", e.Path)
		}
		if len(diags) > 0 {
			if len(diags) != 1 || diags[0].Code != "env-syntax" || diags[0].Severity != Error || diags[0].File != ".env" {
				t.Fatalf("a refused file gives one env-syntax error on .env, got %v", diags)
			}
			if diags[0].Line < 1 || diags[0].Line > lines {
				t.Fatalf("env-syntax error on line %d of a file of %d lines: %s", diags[0].Line, lines, diags[0])
			}
			if len(e.Values) != 0 || len(e.Lines) != 0 {
				t.Fatalf("a refused file gave values: %v", e.Keys())
			}
			return
		}
		for k, n := range e.Lines {
			if _, ok := e.Values[k]; !ok {
				t.Fatalf("line %d given to %q, a key the file does not hold", n, k)
			}
			if n < 1 || n > lines {
				t.Fatalf("key %q on line %d of a file of %d lines", k, n, lines)
			}
		}
		for _, k := range e.Keys() {
			if *skipKnown {
				break // known: ParseEnv's line scanner reads fewer forms than compose's parser
			}
			if _, ok := e.Lines[k]; !ok {
				t.Fatalf("key %q has no line (findings about it could not say where it is set)", k)
			}
		}
	})
}

var additional = regexp.MustCompile(`additional properties ((?:'[^']*'(?:, )?)+) not allowed`)

// sortedProps sorts the names of compose-go's "additional properties" messages.
func sortedProps(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = additional.ReplaceAllStringFunc(l, func(m string) string {
			names := strings.Split(additional.FindStringSubmatch(m)[1], ", ")
			slices.Sort(names)
			return "additional properties " + strings.Join(names, ", ") + " not allowed"
		})
	}
	return out
}

// nullService reports whether a compose file holds a null value anywhere.
func nullService(data []byte) bool {
	var doc any
	if yaml.Unmarshal(data, &doc) != nil {
		return false
	}
	var hasNull func(v any) bool
	hasNull = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			for _, c := range v {
				if c == nil || hasNull(c) {
					return true
				}
			}
		case []any:
			for _, c := range v {
				if c == nil || hasNull(c) {
					return true
				}
			}
		}
		return false
	}
	return hasNull(doc)
}

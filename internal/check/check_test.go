package check

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// TestGolden runs check on each testdata/*.txtar project. The archive's files
// form the project; its "want" section holds the expected diagnostics, one per
// line. The first comment line says what the case is about.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var want, wantEngines string
			host := localLinux
			hasEngines := false
			for _, f := range ar.Files {
				if f.Name == "want" {
					want = string(f.Data)
					continue
				}
				if f.Name == "engines" {
					wantEngines, hasEngines = string(f.Data), true
					continue
				}
				if f.Name == "host" { // the Docker host of the case: "linux", "desktop-windows" or "unknown"
					host = hostNamed(t, strings.TrimSpace(string(f.Data)))
					continue
				}
				p := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := project.Load(t.Context(), project.Options{Root: dir, Environ: map[string]string{}})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for _, d := range Run(p, Options{Host: host}) {
				b.WriteString(d.String())
				b.WriteByte('\n')
			}
			got := b.String()
			gotEngines := engineSummary(p)
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = []byte(got)
					}
					if ar.Files[i].Name == "engines" {
						ar.Files[i].Data = []byte(gotEngines)
					}
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics differ (-want +got):\n%s", diff)
			}
			if hasEngines {
				if wantEngines == "" {
					t.Fatal("the engines section is empty: a case that has one must name at least one engine")
				}
				if diff := cmp.Diff(wantEngines, gotEngines); diff != "" {
					t.Errorf("engines differ (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// engineSummary renders every recognised engine with the values check, plan
// and profiles read, each marked written, default or unknown.
func engineSummary(p *project.Project) string {
	var b strings.Builder
	for _, pr := range p.Profiles {
		for _, s := range pr.Services {
			if !s.Engine {
				continue
			}
			fmt.Fprintf(&b, "%s/%s: by %s, vLLM %s\n", pr.Name, s.Name, s.EngineReason, s.Version)
			for _, f := range []string{"model", "served-model-name", "tensor-parallel-size", "gpu-memory-utilization", "max-model-len", "kv-cache-dtype", "max-num-seqs", "port", "api-key"} {
				fmt.Fprintf(&b, "  %s = %s\n", f, valueOf(&s.Args, f))
			}
			fmt.Fprintf(&b, "  gpus = %s\n", s.GPUs)
		}
	}
	return b.String()
}

func valueOf(a *vllm.Args, flag string) string {
	v, src := a.Effective(flag)
	return v + " (" + src.String() + ")"
}

// localLinux is the Docker host the golden cases are judged on: this machine, Linux.
var localLinux = HostView{Known: true, OS: "linux", Name: "test host"}

func hostNamed(t *testing.T, name string) HostView {
	switch name {
	case "linux":
		return localLinux
	case "desktop-windows":
		return HostView{Known: true, OS: "linux", Desktop: true, Name: "Docker Desktop"}
	case "unknown":
		return HostView{}
	}
	t.Fatalf("unknown host %q in the case (linux, desktop-windows, unknown)", name)
	return HostView{}
}

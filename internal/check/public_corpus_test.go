//go:build acceptance

package check

import (
	"bufio"
	"fmt"
	"github.com/vllmctl/vllmctl/internal/acceptance"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vllmctl/vllmctl/internal/project"
)

// publicLayout rebuilds the repositories of ../shared/corpus/public_compose_2026
// in dir, each file at its path in its repository (SOURCES.md says which), so
// that Dockerfiles, wrapper scripts and .env files sit where the compose files
// expect them. It returns the compose files, relative to dir.
func publicLayout(t *testing.T, dir string) []string {
	t.Helper()
	src := acceptance.Shared(t, "corpus", "public_compose_2026")
	f, err := os.Open(filepath.Join(src, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var composes []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 5 || !strings.HasPrefix(strings.TrimSpace(cols[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cols[1]), "`")
		repo := strings.TrimSpace(cols[2])
		path := strings.Trim(strings.TrimSpace(cols[3]), "`")
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatalf("SOURCES.md names %s: %v", name, err)
		}
		rel := filepath.ToSlash(filepath.Join(strings.ReplaceAll(repo, "/", "__"), path))
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if ext := filepath.Ext(path); (ext == ".yml" || ext == ".yaml") && !strings.Contains(filepath.Base(path), "config") {
			composes = append(composes, rel)
		}
	}
	if len(composes) < 40 {
		t.Fatalf("SOURCES.md lists only %d compose files", len(composes))
	}
	slices.Sort(composes)
	return composes
}

// TestPublicCorpus loads every compose file of the public corpus (many
// authors) as Compose would, beside its own .env, Dockerfiles and scripts:
// none crashes, every engine is recognised with the values it really gets
// (testdata/public_compose_2026.engines), and the findings are the reviewed
// ones (testdata/public_compose_2026.check; the review is in
// testdata/public_compose_2026.review.md).
func TestPublicCorpus(t *testing.T) {
	dir := t.TempDir()
	files := publicLayout(t, dir)
	var engines, findings strings.Builder
	total := 0
	for _, rel := range files {
		abs := filepath.Join(dir, filepath.FromSlash(rel))
		p, err := project.Load(t.Context(), project.Options{Root: filepath.Dir(abs), Files: []string{abs}, Environ: map[string]string{}})
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		fmt.Fprintf(&engines, "== %s\n", rel)
		for _, pr := range p.Profiles {
			if pr.Compose == nil && !pr.Relaxed {
				fmt.Fprintf(&engines, "(does not load)\n")
			}
			for _, s := range pr.Engines() {
				total++
				fmt.Fprintf(&engines, "%s: by %s, vLLM %s\n", s.Name, s.EngineReason, s.Version)
				for _, f := range []string{"model", "tensor-parallel-size", "gpu-memory-utilization", "max-model-len", "kv-cache-dtype", "max-num-seqs", "port"} {
					fmt.Fprintf(&engines, "  %s = %s\n", f, valueOf(&s.Args, f))
				}
				fmt.Fprintf(&engines, "  gpus = %s\n", s.GPUs)
			}
		}
		fmt.Fprintf(&findings, "== %s\n", rel)
		for _, d := range Run(p, Options{Host: localLinux}) {
			if d.Severity == project.Info {
				continue
			}
			d.Pos.File = filepath.Base(d.Pos.File)
			fmt.Fprintf(&findings, "%s\n", strings.ReplaceAll(d.String(), dir+string(filepath.Separator), "$CORPUS/"))
		}
	}
	if total < 60 {
		t.Errorf("only %d engines recognised in the public corpus", total)
	}
	golden(t, "testdata/public_compose_2026.engines", engines.String())
	golden(t, "testdata/public_compose_2026.check", findings.String())
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it, then review it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

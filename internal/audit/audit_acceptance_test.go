//go:build acceptance

package audit

import (
	"context"
	"github.com/vllmctl/vllmctl/internal/acceptance"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// corpus is a real operator's folder, shared read-only beside the checkout.
func corpus(t testing.TB) string {
	t.Helper()
	return acceptance.Shared(t, "corpus", "myia_vllm_2025-10")
}

func load(t testing.TB) *project.Project {
	t.Helper()
	p, err := project.Load(context.Background(), project.Options{Root: corpus(t), Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCorpus: the root files, the history and the archived variants are
// grouped by the model they serve, with the flags that changed; no file that
// fails check or sits in the archive is proposed as live.
func TestCorpus(t *testing.T) {
	rep, err := Run(t.Context(), load(t), Options{IncludeArchives: true})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]File{}
	for _, f := range rep.Files {
		by[f.Path] = f
	}
	want := map[string]string{
		"docker-compose-qwen3-medium.yml":                                        "earlier version of profile medium",
		"docker-compose-qwen3-micro.yml":                                         "newest config of model Qwen/Qwen3-1.7B-FP8",
		"docker-compose-qwen3-mini.yml":                                          "newest config of model Qwen/Qwen3-8B-AWQ",
		"archived/docker_configs_20251016/docker-compose-micro-qwen3.yml":        "earlier version of docker-compose-qwen3-micro.yml",
		"archived/docker_configs_20251016/docker-compose-micro-qwen3-new.yml":    "archived/docker-compose-deprecated/docker-compose-micro-qwen3-improved.yml",
		"archived/docker_configs_20251016/docker-compose-mini-qwen3.yml":         "docker-compose-qwen3-mini.yml",
		"archived/docker_configs_20251016/docker-compose-medium-qwen3-fixed.yml": "earlier version of profile medium",
		"medium_history/2025-10-19_880b4ba_medium.yml":                           "same config as profile medium",
	}
	for path, rel := range want {
		f, ok := by[path]
		if !ok {
			t.Errorf("%s not scanned", path)
			continue
		}
		if !strings.Contains(f.Relation, rel) {
			t.Errorf("%s: relation %q, want %q", path, f.Relation, rel)
		}
	}
	changed := map[string]bool{}
	for _, c := range by["docker-compose-qwen3-medium.yml"].Changes {
		changed[c.Field] = true
	}
	for _, f := range []string{"--max-model-len", "--enable-reasoning", "--gpu-memory-utilization"} {
		if !changed[f] {
			t.Errorf("root medium file: change of %s not listed (%v)", f, by["docker-compose-qwen3-medium.yml"].Changes)
		}
	}
	if a := by["docker-compose-qwen3-medium.yml"].Action; a != ActionArchive {
		t.Errorf("root medium file action %s", a)
	}
	if a := by["configs/docker/profiles/medium.yml"].Action; a != ActionKeep {
		t.Errorf("active profile action %s", a)
	}
	// The Qwen3-1.7B-Base variants are another model than the root micro
	// file's Qwen3-1.7B-FP8: another group, though every name says "micro".
	if a, b := by["archived/docker_configs_20251016/docker-compose-micro-qwen3-new.yml"].Group, by["docker-compose-qwen3-micro.yml"].Group; a == b {
		t.Errorf("Qwen3-1.7B-Base and Qwen3-1.7B-FP8 files share group %q", a)
	}
	// The root micro and mini files fail check (without the operator's .env,
	// and --enable-reasoning was removed): kept, never proposed as live; no
	// archived file is live either.
	for _, d := range rep.Decisions {
		if d.Adopt != "" {
			t.Errorf("group %s: %s proposed for adoption (%s)", d.Group, d.Live, d.Detail)
		}
		if strings.HasPrefix(d.Live, "archived/") {
			t.Errorf("group %s: an archived file is live: %s", d.Group, d.Live)
		}
	}
	if f := by["docker-compose-qwen3-micro.yml"]; f.Action != ActionKeep || !strings.Contains(f.Skipped, "fails check") {
		t.Errorf("root micro file: %s, skipped %q", f.Action, f.Skipped)
	}
}

// BenchmarkAuditCorpus: the whole corpus, archives included (target: under 1 s).
func BenchmarkAuditCorpus(b *testing.B) {
	for b.Loop() {
		rep, err := Run(context.Background(), load(b), Options{IncludeArchives: true})
		if err != nil || len(rep.Files) < 35 {
			b.Fatalf("%v %d", err, len(rep.Files))
		}
	}
}

// TestUnlabeledMatchedByCommandLine: a container started by hand (no vllmctl
// labels) is traced to its file by its command line.
func TestUnlabeledMatchedByCommandLine(t *testing.T) {
	p := load(t)
	root := corpus(t)
	sp, err := project.Load(t.Context(), project.Options{Root: root, Files: []string{root + "/docker-compose-qwen3-mini.yml"}, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"--api-key", "live-key-differs"}, sp.Profiles[0].Engines()[0].Argv...)
	rep, err := Run(t.Context(), p, Options{Unlabeled: []Unlabeled{{Name: "myia-vllm-mini-qwen3", Argv: argv}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		matched := strings.Contains(f.Running, "myia-vllm-mini-qwen3 (matched by its command line)")
		if f.Path == "docker-compose-qwen3-mini.yml" && !matched {
			t.Errorf("the mini file was not matched: %+v", f)
		}
		if f.Path != "docker-compose-qwen3-mini.yml" && matched {
			t.Errorf("%s matched a command line that is not its own", f.Path)
		}
	}
}

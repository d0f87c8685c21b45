package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/project"
)

// engine is a compose file with one vLLM engine serving model; extra flags
// are appended to its command.
func engine(service, model string, extra ...string) string {
	args := []string{"--model", model}
	args = append(args, extra...)
	return "services:\n  " + service + ":\n    image: vllm/vllm-openai:v0.11.0\n    ipc: host\n    command: [\"" +
		strings.Join(args, "\", \"") + "\"]\n    ports: [\"5000:8000\"]\n"
}

// folder writes files under a fresh root; mtimes, when given, are set per file.
func folder(t *testing.T, files map[string]string, mtimes map[string]time.Time) *project.Project {
	t.Helper()
	root := t.TempDir()
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for rel, body := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		m, ok := mtimes[rel]
		if !ok {
			m = old
		}
		if err := os.Chtimes(p, m, m); err != nil {
			t.Fatal(err)
		}
	}
	p, err := project.Load(t.Context(), project.Options{Root: root, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, p *project.Project, o Options) (map[string]File, map[string]Decision) {
	t.Helper()
	rep, err := Run(t.Context(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]File{}
	for _, f := range rep.Files {
		files[f.Path] = f
	}
	ds := map[string]Decision{}
	for _, d := range rep.Decisions {
		ds[d.Group] = d
	}
	return files, ds
}

// TestNewestByDateInName: the newest file is the one whose name carries the
// latest date, not the first in alphabetical order, and the rule says so.
func TestNewestByDateInName(t *testing.T) {
	p := folder(t, map[string]string{
		"a-chat-20251019.yml":   engine("chat", "Qwen/Qwen3-8B", "--max-model-len", "8192"),
		"b-chat-2025-10-23.yml": engine("chat", "Qwen/Qwen3-8B", "--max-model-len", "16384"),
	}, nil)
	files, ds := run(t, p, Options{})
	d := ds["model Qwen/Qwen3-8B"]
	if d.Live != "b-chat-2025-10-23.yml" || d.Rule != RuleNameDate {
		t.Fatalf("live %q by %q (%s), want b-chat-2025-10-23.yml by %q", d.Live, d.Rule, d.Detail, RuleNameDate)
	}
	if !strings.Contains(d.Detail, "2025-10-23") {
		t.Errorf("detail %q does not name the deciding date", d.Detail)
	}
	if f := files["a-chat-20251019.yml"]; f.Action != ActionArchive || !strings.Contains(f.Reason, "superseded by b-chat-2025-10-23.yml") {
		t.Errorf("older file: %s, %q", f.Action, f.Reason)
	}
	if f := files["b-chat-2025-10-23.yml"]; f.Action != ActionKeep || !strings.Contains(f.Reason, "adopt it as configs/docker/profiles/") || !strings.Contains(f.Reason, "date in its name") {
		t.Errorf("newest file: %s, %q", f.Action, f.Reason)
	}
}

// TestNewestByModTime: without dates in the names, the modification time decides.
func TestNewestByModTime(t *testing.T) {
	now := time.Date(2025, 10, 20, 12, 0, 0, 0, time.UTC)
	p := folder(t, map[string]string{
		"chat-copy.yml": engine("chat", "Qwen/Qwen3-8B", "--max-model-len", "8192"),
		"chat.yml":      engine("chat", "Qwen/Qwen3-8B", "--max-model-len", "16384"),
	}, map[string]time.Time{"chat-copy.yml": now.Add(-time.Hour), "chat.yml": now})
	_, ds := run(t, p, Options{})
	d := ds["model Qwen/Qwen3-8B"]
	if d.Live != "chat.yml" || d.Rule != RuleModTime {
		t.Fatalf("live %q by %q (%s), want chat.yml by %q", d.Live, d.Rule, d.Detail, RuleModTime)
	}
	if !strings.Contains(d.Detail, "2025-10-20 12:00:00") {
		t.Errorf("detail %q does not name the deciding time", d.Detail)
	}
}

// TestTieIsReported: the same date in the names and modification times within
// ModTimeTie: nothing is proposed, both files are kept and named as tied.
func TestTieIsReported(t *testing.T) {
	now := time.Date(2025, 10, 20, 12, 0, 0, 0, time.UTC)
	p := folder(t, map[string]string{
		"chat-a-20251020.yml": engine("chat", "Qwen/Qwen3-8B", "--max-model-len", "8192"),
		"chat-b-20251020.yml": engine("chat", "Qwen/Qwen3-8B", "--max-model-len", "16384"),
	}, map[string]time.Time{"chat-a-20251020.yml": now, "chat-b-20251020.yml": now.Add(time.Second)})
	files, ds := run(t, p, Options{})
	d := ds["model Qwen/Qwen3-8B"]
	if d.Rule != RuleTie || d.Live != "" || d.Adopt != "" || len(d.Tied) != 2 {
		t.Fatalf("decision %+v, want a tie of two files and nothing live", d)
	}
	if !strings.Contains(d.Detail, "same date in their names (2025-10-20)") {
		t.Errorf("detail %q", d.Detail)
	}
	for _, path := range []string{"chat-a-20251020.yml", "chat-b-20251020.yml"} {
		if f := files[path]; f.Action != ActionKeep || !strings.HasPrefix(f.Reason, "tie: ") || strings.Contains(f.Reason, "adopt") {
			t.Errorf("%s: %s, %q", path, f.Action, f.Reason)
		}
	}
}

// TestRetiredAndFailingNeverLive: a newer file that is rejected, archived or
// fails check is never proposed as live, and each says why it was skipped.
func TestRetiredAndFailingNeverLive(t *testing.T) {
	p := folder(t, map[string]string{
		"chat-20251019.yml":                   engine("chat", "Qwen/Qwen3-8B"),
		"chat.rejected-20251025.yml":          engine("chat", "Qwen/Qwen3-8B", "--max-num-seqs", "8"),
		"chat.yml.rejected-20251026":          engine("chat", "Qwen/Qwen3-8B", "--max-num-seqs", "4"),
		"chat-20251021.archived-20251022.yml": engine("chat", "Qwen/Qwen3-8B", "--max-num-seqs", "2"),
		"chat-20251027.yml":                   engine("chat", "Qwen/Qwen3-8B", "--gpu-memory-utilization", "1.5"),
		"old-archive/chat-20251030.yml":       engine("chat", "Qwen/Qwen3-8B", "--max-num-seqs", "16"),
	}, nil)
	files, ds := run(t, p, Options{IncludeArchives: true})
	d := ds["model Qwen/Qwen3-8B"]
	if d.Live != "chat-20251019.yml" || d.Rule != RuleOnly {
		t.Fatalf("live %q by %q (%s), want chat-20251019.yml, the only candidate", d.Live, d.Rule, d.Detail)
	}
	want := map[string]struct {
		kind    Kind
		action  Action
		skipped string
	}{
		"chat.rejected-20251025.yml":          {KindRejected, ActionArchive, "marked rejected in its name"},
		"chat.yml.rejected-20251026":          {KindRejected, ActionArchive, "marked rejected in its name"},
		"chat-20251021.archived-20251022.yml": {KindArchived, ActionArchive, "archived"},
		"chat-20251027.yml":                   {KindStandalone, ActionKeep, "fails check with 1 error(s)"},
		"old-archive/chat-20251030.yml":       {KindArchived, ActionKeep, "in the archive folder old-archive"},
	}
	for path, w := range want {
		f, ok := files[path]
		if !ok {
			t.Errorf("%s not scanned", path)
			continue
		}
		if f.Kind != w.kind || f.Action != w.action || !strings.Contains(f.Skipped, w.skipped) {
			t.Errorf("%s: kind %s, %s, skipped %q; want %s, %s, skipped %q", path, f.Kind, f.Action, f.Skipped, w.kind, w.action, w.skipped)
		}
	}
	if f := files["chat-20251027.yml"]; !strings.Contains(f.Reason, "newer than chat-20251019.yml") {
		t.Errorf("the newer file that fails check: %q", f.Reason)
	}
}

// TestUnrelatedFilesSharingANameAreSeparate: files whose names share words
// (a size, a prefix, a profile's name) but that serve different models are
// different groups, each with its own live file.
func TestUnrelatedFilesSharingANameAreSeparate(t *testing.T) {
	p := folder(t, map[string]string{
		"configs/docker/profiles/mini.yml": engine("vllm-mini", "Qwen/Qwen3-8B-AWQ"),
		"vllm-mini-chat.yml":               engine("vllm-mini", "meta-llama/Llama-3.1-8B-Instruct"),
		"vllm-mini-embed.yml":              engine("vllm-mini", "BAAI/bge-m3"),
		"docker-compose-mini-qwen.yml":     engine("vllm-mini", "Qwen/Qwen3-8B-AWQ", "--max-model-len", "4096"),
	}, nil)
	files, ds := run(t, p, Options{})
	groups := map[string]string{}
	for path, f := range files {
		groups[path] = f.Group
	}
	if g := groups["vllm-mini-chat.yml"]; g != "model meta-llama/Llama-3.1-8B-Instruct" {
		t.Errorf("chat file in group %q", g)
	}
	if g := groups["vllm-mini-embed.yml"]; g != "model BAAI/bge-m3" {
		t.Errorf("embed file in group %q", g)
	}
	if g := groups["docker-compose-mini-qwen.yml"]; g != "mini" {
		t.Errorf("the file serving the profile's model is in group %q, want mini", g)
	}
	for _, g := range []string{"model meta-llama/Llama-3.1-8B-Instruct", "model BAAI/bge-m3"} {
		if d := ds[g]; d.Rule != RuleOnly || d.Live == "" || d.Adopt == "" {
			t.Errorf("group %s: %+v, want its only file proposed", g, d)
		}
	}
	if ds["model meta-llama/Llama-3.1-8B-Instruct"].Adopt == ds["model BAAI/bge-m3"].Adopt {
		t.Errorf("both adopted as %s", ds["model BAAI/bge-m3"].Adopt)
	}
	if f := files["vllm-mini-chat.yml"]; len(f.Changes) != 0 || f.Action != ActionKeep {
		t.Errorf("the chat file is compared or archived against an unrelated file: %+v", f)
	}
}

// TestUnknownModel: an engine whose model is not known (no --model) and whose
// generic service name other files share stands alone, without a crash.
func TestUnknownModel(t *testing.T) {
	noModel := "services:\n  vllm:\n    image: vllm/vllm-openai:v0.11.0\n    ipc: host\n    command: [\"--max-model-len\", \"%s\"]\n    ports: [\"5000:8000\"]\n"
	p := folder(t, map[string]string{
		"a-web.yml":   "services:\n  web:\n    image: nginx:1.27\n",
		"b-one.yml":   strings.Replace(noModel, "%s", "4096", 1),
		"c-other.yml": strings.Replace(noModel, "%s", "8192", 1),
		"d-var.yml":   engine("vllm", "${MODEL_NAME}", "--max-model-len", "4096"),
		"e-var.yml":   engine("api", "${MODEL_NAME}", "--max-model-len", "8192"),
	}, nil)
	files, _ := run(t, p, Options{})
	if a, b := files["b-one.yml"].Group, files["c-other.yml"].Group; a == "" || a == b {
		t.Errorf("groups %q and %q: two unrelated engines of unknown model share one", a, b)
	}
	if a, b := files["d-var.yml"].Group, files["e-var.yml"].Group; a == "" || a == b || strings.Contains(a, "model") {
		t.Errorf("groups %q and %q: two engines whose model is an unset ${MODEL_NAME} share one", a, b)
	}
	if m := files["d-var.yml"].Model; m != "${MODEL_NAME}" {
		t.Errorf("model shown as %q, want ${MODEL_NAME}", m)
	}
	if f := files["a-web.yml"]; f.Action != ActionKeep || f.Group != "" {
		t.Errorf("a compose file without vLLM: %s in group %q, want kept alone", f.Action, f.Group)
	}
}

func TestNameDate(t *testing.T) {
	for name, want := range map[string]string{
		"2025-10-19_880b4ba_medium.yml":                       "2025-10-19",
		"2025-10-23_backup_medium_20251023_094554.yml":        "2025-10-23",
		"archived/docker_configs_20251016/docker-compose.yml": "2025-10-16",
		"chat_2025_10_21.yml":                                 "2025-10-21",
		"chat-2025-1019.yml":                                  "",
		"build-1202510199.yml":                                "",
		"chat-20251340.yml":                                   "",
		"chat.yml":                                            "",
	} {
		got := ""
		if d := nameDate(name); !d.IsZero() {
			got = d.Format("2006-01-02")
		}
		if got != want {
			t.Errorf("nameDate(%q) = %q, want %q", name, got, want)
		}
	}
}

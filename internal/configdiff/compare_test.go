package configdiff

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

func svc(name, image string, engine bool, cmd ...string) *project.Service {
	c := types.ServiceConfig{Name: name}
	c.Image, c.Command = image, cmd
	s := &project.Service{Name: name, Engine: engine, Config: c, Argv: cmd}
	if engine {
		s.Args = vllm.Parse(cmd)
	}
	return s
}

func TestCompareLevels(t *testing.T) {
	eng := svc("vllm", "vllm/vllm-openai:v0.11.0", true, "--model", "Qwen/Qwen3-8B", "--max-model-len", "8192")
	eng2 := svc("vllm", "vllm/vllm-openai:v0.11.0", true, "--model", "Qwen/Qwen3-8B", "--max-model-len=16384")
	helper := svc("vllm", "team/vllm-patched:v7", false, "--model", "Qwen/Qwen3-8B", "--api-key", "planted-key-123")
	web := svc("web", "nginx:1.27", false)
	cache := svc("cache", "redis:7", false)

	r := Compare([]*project.Service{eng}, []*project.Service{eng2})
	if r.Level != LevelEngine || len(r.NoEngine) != 0 || len(r.Changes) != 1 || r.Changes[0].Field != "--max-model-len" {
		t.Errorf("two engines: %+v", r)
	}

	r = Compare([]*project.Service{eng}, []*project.Service{helper})
	if r.Level != LevelCompose || len(r.NoEngine) != 1 || r.NoEngine[0] != "B" {
		t.Fatalf("engine and helper: level %s, no engine %v", r.Level, r.NoEngine)
	}
	got := map[string]Change{}
	for _, c := range r.Changes {
		got[c.Field] = c
	}
	if c := got["command"]; !strings.Contains(c.B, "--api-key ***") || strings.Contains(c.B, "planted-key-123") {
		t.Errorf("command change %+v: the key must show as ***", c)
	}
	if c := got["image"]; c.A != "vllm/vllm-openai:v0.11.0" || c.B != "team/vllm-patched:v7" {
		t.Errorf("image change %+v", c)
	}

	r = Compare([]*project.Service{helper}, []*project.Service{helper})
	if len(r.Changes) != 0 || len(r.NoEngine) != 2 {
		t.Errorf("a side against itself: %+v", r)
	}

	r = Compare([]*project.Service{web, cache}, []*project.Service{svc("web", "nginx:1.25", false)})
	want := []Change{{Field: "services.cache", A: "present"}, {Field: "services.web.image", A: "nginx:1.27", B: "nginx:1.25"}}
	if len(r.Changes) != len(want) {
		t.Fatalf("by name: %+v", r.Changes)
	}
	for i, w := range want {
		if r.Changes[i] != w {
			t.Errorf("change %d: %+v, want %+v", i, r.Changes[i], w)
		}
	}
}

// TestUnknownShownAsWritten: a value unknown where the files are read shows as
// the reference that holds it, not as the internal marker.
func TestUnknownShownAsWritten(t *testing.T) {
	a := svc("vllm", "vllm/vllm-openai:v0.11.0", false, "--api-key", "x")
	b := svc("vllm", "vllm/vllm-openai:"+vllm.UnknownMark("${TAG}"), false, "--api-key", "x")
	r := Compare([]*project.Service{a}, []*project.Service{b})
	if len(r.Changes) != 1 || r.Changes[0].B != "vllm/vllm-openai:${TAG}" {
		t.Errorf("changes %+v, want the image shown as vllm/vllm-openai:${TAG}", r.Changes)
	}
}

func TestMaskText(t *testing.T) {
	for in, want := range map[string]string{
		"--api-key sk-123 --port 8000":            "--api-key *** --port 8000",
		"--api-key=sk-123":                        "--api-key=***",
		"--api-key ${VLLM_API_KEY}":               "--api-key ${VLLM_API_KEY}",
		"export HF_TOKEN=hf_abc && exec vllm":     "export HF_TOKEN=*** && exec vllm",
		`VLLM_API_KEY="a b" vllm serve`:           "VLLM_API_KEY=*** vllm serve",
		"--max-model-len 8192 --tokenizer-mode a": "--max-model-len 8192 --tokenizer-mode a",
	} {
		if got := maskText(in); got != want {
			t.Errorf("maskText(%q) = %q, want %q", in, got, want)
		}
	}
}

// A value one side does not write is vLLM's default, and the change says so
// (in the text and in JSON), never as if that profile had set it; written
// on both sides, no side is a default.
func TestDefaultsMarked(t *testing.T) {
	a := svc("vllm", "vllm/vllm-openai:v0.11.0", true, "--model", "Qwen/Qwen3-8B", "--max-num-seqs", "4")
	b := svc("vllm", "vllm/vllm-openai:v0.11.0", true, "--model", "Qwen/Qwen3-8B", "--gpu-memory-utilization", "0.95")
	got := map[string]Change{}
	for _, c := range Services(a, b) {
		got[c.Field] = c
	}
	seqs, util := got["--max-num-seqs"], got["--gpu-memory-utilization"]
	if seqs.A != "4" || seqs.B != "256" || seqs.ADefault || !seqs.BDefault || seqs.String() != "--max-num-seqs: 4 → 256 (default)" {
		t.Errorf("max-num-seqs: %+v %q", seqs, seqs.String())
	}
	if util.A != "0.9" || util.B != "0.95" || !util.ADefault || util.BDefault || util.String() != "--gpu-memory-utilization: 0.9 (default) → 0.95" {
		t.Errorf("gpu-memory-utilization: %+v %q", util, util.String())
	}
	c := svc("vllm", "vllm/vllm-openai:v0.11.0", true, "--model", "Qwen/Qwen3-8B", "--max-num-seqs", "8")
	if ch := Services(a, c); len(ch) != 1 || ch[0].ADefault || ch[0].BDefault || ch[0].String() != "--max-num-seqs: 4 → 8" {
		t.Errorf("both written: %+v", ch)
	}
}

// An upgrade across vLLM 0.20 changes the unwritten utilization: the diff
// shows the release's default on each side.
func TestUtilizationDefaultFollowsRelease(t *testing.T) {
	a := svc("vllm", "vllm/vllm-openai:v0.19.1", true, "--model", "Qwen/Qwen3-8B")
	b := svc("vllm", "vllm/vllm-openai:v0.20.0", true, "--model", "Qwen/Qwen3-8B")
	b.Args.AtRelease(flagdb.Version{Minor: 20}) // as the project loader does for a pinned image
	var util *Change
	for _, c := range Services(a, b) {
		if c.Field == "--gpu-memory-utilization" {
			util = &c
		}
	}
	if util == nil || util.String() != "--gpu-memory-utilization: 0.9 (default) → 0.92 (default)" {
		t.Errorf("utilization change: %+v", util)
	}
}

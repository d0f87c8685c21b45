package kube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/vllmctl/vllmctl/internal/project"
)

// fourProfiles writes the example project plus a fourth profile (large:
// Llama 3.1 70B over four GPUs with Kubernetes settings).
func fourProfiles(tb testing.TB) string {
	a, err := txtar.ParseFile("testdata/export/example.txtar")
	if err != nil {
		tb.Fatal(err)
	}
	root := filepath.Join(tb.TempDir(), "vllm")
	for _, f := range a.Files {
		if f.Name == "args" || strings.HasPrefix(f.Name, "want/") {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	large := `services:
  vllm-large:
    extends: {file: docker-compose.yml, service: vllm-base}
    profiles: !reset []
    shm_size: 16gb
    command: ["--model=meta-llama/Llama-3.1-70B-Instruct", "--tensor-parallel-size=4", "--api-key=${VLLM_API_KEY_MEDIUM}"]
    deploy:
      resources:
        reservations:
          devices: [{driver: nvidia, count: 4, capabilities: [gpu]}]
    x-vllmctl:
      kubernetes:
        node_selector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
        tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
`
	if err := os.WriteFile(filepath.Join(root, "configs", "docker", "profiles", "large.yml"), []byte(large), 0o644); err != nil {
		tb.Fatal(err)
	}
	return root
}

// export is what `vllmctl export kubernetes` does: load, build, render.
func export(tb testing.TB, root string) []File {
	p, err := project.Load(context.Background(), project.Options{Root: root, Environ: map[string]string{}})
	if err != nil {
		tb.Fatal(err)
	}
	res, err := Build(p, nil, Options{Version: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	files, err := Render(res, false)
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

func TestFourProfilesExport(t *testing.T) {
	files := export(t, fourProfiles(t))
	names := map[string]bool{}
	for _, f := range files {
		names[f.Name] = true
	}
	for _, want := range []string{"large.yaml", "medium.yaml", "micro.yaml", "mini.yaml", SecretExample} {
		if !names[want] {
			t.Errorf("no %s among %v", want, names)
		}
	}
}

// BenchmarkExportKubernetes4Profiles: the whole export of four profiles
// (target: under 100 ms).
func BenchmarkExportKubernetes4Profiles(b *testing.B) {
	root := fourProfiles(b)
	for b.Loop() {
		export(b, root)
	}
}

// BenchmarkExportHelm4Profiles: the chart of the same four profiles.
func BenchmarkExportHelm4Profiles(b *testing.B) {
	root := fourProfiles(b)
	for b.Loop() {
		p, err := project.Load(context.Background(), project.Options{Root: root, Environ: map[string]string{}})
		if err != nil {
			b.Fatal(err)
		}
		res, err := Build(p, nil, Options{Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Chart(res, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad4Profiles is the baseline: loading the same project, which
// every command does before anything else.
func BenchmarkLoad4Profiles(b *testing.B) {
	root := fourProfiles(b)
	for b.Loop() {
		if _, err := project.Load(context.Background(), project.Options{Root: root, Environ: map[string]string{}}); err != nil {
			b.Fatal(err)
		}
	}
}

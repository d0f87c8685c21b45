package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

// tarOf is a tar holding files (name → content).
func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dockerIn runs docker with stdin, failing t on an error.
func dockerIn(t *testing.T, stdin []byte, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestReleaseFromLocalImage: engines whose files name no release read it from
// the image Docker holds here. A custom image carrying vLLM's VLLM_IMAGE_TAG
// (as images FROM vllm/vllm-openai do from v0.21) gets that release; a
// vllm/vllm-openai image without it under a tag that follows the releases
// (latest-<variant>; not latest itself, which a developer's machine may
// hold), created 2026-03-21, gets 0.18.0, the
// release published then (its creation date is set in the image config that
// `docker load` reads); an image that is not here stays unknown, unless it is
// vLLM's own under a tag that follows the releases: a pull brings the newest,
// planned as the newest release vllmctl knows.
func TestReleaseFromLocalImage(t *testing.T) {
	const custom, dated, missing = "vllmctl-e2e/custom-vllm:latest", "vllm/vllm-openai:latest-vllmctl-e2e", "vllm/vllm-openai:vllmctl-e2e-missing"
	const absent = "vllm/vllm-openai:latest-vllmctl-e2e-absent"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", custom, dated).Run() })
	layer := tarOf(t, map[string]string{"etc/os-release": "ID=scratch\n"})
	dockerIn(t, layer, "import", "-c", "ENV VLLM_IMAGE_TAG=vllm/vllm-openai:v0.25.0-cu130-ubuntu2404", "-", custom)

	sum := sha256.Sum256(layer)
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": "2026-03-21T08:00:00Z",
		"config": map[string]any{"Env": []string{"PATH=/usr/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(sum[:])}},
	})
	manifest, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{dated}, "Layers": []string{"layer.tar"}}})
	dockerIn(t, tarOf(t, map[string]string{"manifest.json": string(manifest), "config.json": string(config), "layer.tar": string(layer)}), "load")

	dir := t.TempDir()
	engine := func(name, image string) string {
		return "  " + name + ":\n    image: " + image + "\n    entrypoint: [\"vllm\", \"serve\", \"Qwen/Qwen3-0.6B\"]\n"
	}
	if err := writeFile(dir, "configs/docker/profiles/llm.yml", "services:\n"+engine("custom", custom)+engine("dated", dated)+engine("missing", missing)+engine("absent", absent)); err != nil {
		t.Fatal(err)
	}
	out, code := runIn(dir, "profiles", "-o", "json")
	if code != 0 {
		t.Fatalf("profiles: exit %d\n%s", code, out)
	}
	newest := flagdb.Newest().String()
	var rows []struct {
		Service     string `json:"service"`
		VLLMVersion string `json:"vllm_version"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("profiles -o json: %v\n%s", err, out)
	}
	want := map[string]string{
		"custom":  "0.25.0 (local image's VLLM_IMAGE_TAG: " + custom + " = vllm/vllm-openai:v0.25.0-cu130-ubuntu2404)",
		"dated":   "0.18.0 (local image's creation date: " + dated + ", created 2026-03-21)",
		"missing": "unknown (" + missing + ")",
		"absent":  newest + "? (assumed: " + absent + " is not on this machine and pulls the newest build; " + newest + " is the newest release vllmctl knows)",
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Service] = r.VLLMVersion
	}
	for svc, w := range want {
		if got[svc] != w {
			t.Errorf("%s: vllm_version %q, want %q\n%s", svc, got[svc], w, out)
		}
	}
}

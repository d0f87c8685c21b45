// Package e2e runs vllmctl end to end on this machine's real Docker Engine
// (with Compose v1 and Compose v2) and on the process runtime, against the
// vllm-sim image and binary that TestMain builds. Without a Docker Engine or
// Compose v2 the tests fail with what to install; they never skip.
//
// vllmctl and vllm-sim are built with the race detector (a C toolchain is
// needed: cgo). Host processes write race reports under binDir (GORACE
// log_path), and every test fails on a report that appears while it runs;
// the image's vllm-sim is linked statically, also with the detector.
package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

var (
	binDir  string
	vllmctl string
	simBin  string
	setup   error
	// raceLog is the GORACE log_path prefix of the processes the tests start.
	raceLog string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vllmctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	vllmctl, simBin = filepath.Join(dir, "vllmctl"), filepath.Join(dir, "vllm-sim")
	raceLog = filepath.Join(dir, "race")
	// Inherited by vllmctl and the engines it starts on the process runtime.
	os.Setenv("GORACE", "log_path="+raceLog)
	setup = prepare()
	code := m.Run()
	if code == 0 && len(raceReports()) > 0 {
		fmt.Fprintln(os.Stderr, "a child process reported a data race after the last test ended:")
		for _, r := range raceReports() {
			b, _ := os.ReadFile(r)
			fmt.Fprintf(os.Stderr, "%s:\n%s\n", r, b)
		}
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// raceReports lists the race detector reports host processes wrote.
func raceReports() []string {
	files, _ := filepath.Glob(raceLog + ".*")
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".seen") {
			out = append(out, f)
		}
	}
	return out
}

// noRace fails t, when it ends, on any race report written meanwhile.
func noRace(t *testing.T) {
	t.Cleanup(func() {
		for _, r := range raceReports() {
			b, _ := os.ReadFile(r)
			t.Errorf("data race reported by a child process (%s):\n%s", r, b)
			_ = os.Rename(r, r+".seen")
		}
	})
}

// goBuild builds pkg into out with the race detector; static links it for a
// scratch image.
func goBuild(out, pkg string, static bool) error {
	args := []string{"build", "-race", "-o", out}
	if static {
		args = append(args, "-tags", "netgo,osusergo", "-ldflags", "-linkmode external -extldflags -static")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -race %s (needs cgo and a C toolchain: apt-get install gcc libc6-dev): %v\n%s", pkg, err, b)
	}
	return nil
}

func prepare() error {
	for _, b := range [][2]string{{vllmctl, "../cmd/vllmctl"}, {simBin, "../cmd/vllm-sim"}} {
		if err := goBuild(b[0], b[1], false); err != nil {
			return err
		}
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Errorf("the end-to-end tests need a running Docker Engine (docker info: %v: %s)", err, out)
	}
	// vllm-sim:dev from scratch: a static binary in a tar, imported.
	static := filepath.Join(binDir, "vllm-sim-static")
	if err := goBuild(static, "../cmd/vllm-sim", true); err != nil {
		return err
	}
	data, err := os.ReadFile(static)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"usr/", "usr/bin/"} {
		_ = tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir})
	}
	_ = tw.WriteHeader(&tar.Header{Name: "usr/bin/vllm-sim", Mode: 0o755, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.Close()
	cmd := exec.Command("docker", "import", "-c", `ENTRYPOINT ["/usr/bin/vllm-sim"]`, "-", "vllm-sim:dev")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import vllm-sim:dev: %v\n%s", err, out)
	}
	if _, err := exec.Command("docker-compose", "version", "--short").Output(); err != nil {
		return fmt.Errorf("Compose v1 (docker-compose) is missing: apt-get install docker-compose")
	}
	if _, err := exec.Command("docker", "compose", "version", "--short").Output(); err != nil {
		return fmt.Errorf("Compose v2 (docker compose) is missing: run 'make compose-v2' (builds it from its Go module into ~/.docker/cli-plugins)")
	}
	return nil
}

// variant is one runtime configuration every scenario runs on.
type variant struct {
	name string
	args []string
}

var variants = []variant{
	{"docker-compose-v1", []string{"--runtime", "docker", "--compose", "v1"}},
	{"docker-compose-v2", []string{"--runtime", "docker", "--compose", "v2"}},
	{"process", []string{"--runtime", "process"}},
}

type proj struct {
	t    *testing.T
	dir  string
	v    variant
	port int
	name string
}

const profileTmpl = `services:
  vllm-a:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
%s    command: [%s]
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    environment:
      VLLM_SIM_ARGS: "%s"
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
volumes: {hf: {}}
`

// newProject writes a one-profile project "a" on a fresh port.
func newProject(t *testing.T, v variant, args, simArgs, extra string) *proj {
	t.Helper()
	if setup != nil {
		t.Fatal(setup)
	}
	noRace(t)
	p := &proj{t: t, dir: t.TempDir(), v: v, port: freeport.T(t), name: fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e9)}
	p.write("configs/docker/profiles/a.yml", fmt.Sprintf(profileTmpl, extra, args, p.port, simArgs))
	p.write(".env", "KEY_A=e2e-secret-key-4242\n")
	p.write("vllmctl.yaml", "project_name: "+p.name+"\ngpus: [{name: RTX 4090, count: 1}]\n")
	t.Cleanup(func() {
		out, _ := p.run("down", "a")
		if strings.Contains(out, "error") {
			t.Logf("cleanup: %s", out)
		}
	})
	return p
}

const goodArgs = `"--model=Qwen/Qwen3-0.6B", "--served-model-name=tiny", "--api-key=${KEY_A}", "--max-model-len=4096", "--gpu-memory-utilization=0.5", "--enforce-eager"`

func (p *proj) write(rel, content string) {
	path := filepath.Join(p.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// run runs vllmctl in the project with the variant's runtime flags where they apply.
func (p *proj) run(args ...string) (string, int) {
	p.t.Helper()
	full := append([]string{"-C", p.dir}, args...)
	switch args[0] {
	case "up", "down", "status", "logs", "restart":
		full = append(full, p.v.args...)
	}
	if args[0] == "up" || args[0] == "restart" {
		full = append(full, "--simulate", "--sim-binary", simBin, "--progress", "plain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vllmctl, full...)
	cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("vllmctl %v: %v", args, err)
	}
	return string(out), code
}

func (p *proj) must(want int, args ...string) string {
	p.t.Helper()
	out, code := p.run(args...)
	if code != want {
		p.t.Fatalf("vllmctl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
	}
	if strings.Contains(out, "e2e-secret-key-4242") {
		p.t.Fatalf("vllmctl %s printed the API key:\n%s", strings.Join(args, " "), out)
	}
	return out
}

func contains(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestUpStatusCompletionDown(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			p := newProject(t, v, goodArgs, "", "")
			out := p.must(0, "up", "a")
			contains(t, out, "ready: /health, /v1/models and a completion answered", "a ready in", "KV cache: vLLM reported")
			out = p.must(0, "status", "a")
			contains(t, out, "running", "ready", fmt.Sprint(p.port), "tiny", " no ")
			// a chat completion with the key from .env
			req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", p.port),
				strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hello"}],"max_tokens":4}`))
			req.Header.Set("Authorization", "Bearer e2e-secret-key-4242")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"completion_tokens":4`) {
				t.Fatalf("completion: %d %s", resp.StatusCode, body)
			}
			out = p.must(0, "history", "a")
			contains(t, out, "ready")
			p.must(0, "down", "a")
			out = p.must(0, "status", "a")
			contains(t, out, "not deployed")
			if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second); err == nil {
				t.Error("the port still answers after down")
			}
		})
	}
}

func TestFailureDiagnoses(t *testing.T) {
	cases := []struct {
		name       string
		args       string
		simArgs    string
		extra      string
		upArgs     []string
		code       int
		want       []string
		dockerOnly bool
	}{
		{name: "kv too small", args: `"--model=Qwen/Qwen3-8B", "--max-model-len=40960", "--gpu-memory-utilization=0.85", "--enforce-eager"`, upArgs: []string{"--skip-plan"}, code: 1,
			want: []string{"the KV cache cannot hold one request of --max-model-len", "fix: lower --max-model-len to ", "last "}},
		{name: "oom at load", args: `"--model=Qwen/Qwen3-32B", "--max-model-len=8192", "--enforce-eager"`, upArgs: []string{"--skip-plan"}, code: 1,
			want: []string{"CUDA ran out of memory", "Failed to load model - not enough GPU memory"}},
		{name: "plan stops a config that cannot fit", args: `"--model=Qwen/Qwen3-32B", "--max-model-len=8192", "--enforce-eager"`, code: 3,
			want: []string{"nothing was deployed", "plan on vllmctl.yaml: ", "weights take"}},
		{name: "crash loop", args: goodArgs, simArgs: "--sim-fail-at loading", extra: "    restart: unless-stopped\n", code: 1, dockerOnly: true,
			want: []string{"crash loop"}},
		{name: "stalled load", args: goodArgs, simArgs: "--sim-stall-at loading", upArgs: []string{"--stall-timeout", "3s", "--download-timeout", "3s"}, code: 4,
			want: []string{"no progress for 3s", "Hugging Face cache"}},
		{name: "container exit", args: goodArgs, simArgs: "--sim-no-such-flag", code: 1,
			want: []string{"exited with status 2"}},
	}
	for _, v := range variants {
		for _, c := range cases {
			if c.dockerOnly && v.name == "process" {
				continue // the process runtime has no restart policy
			}
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				p := newProject(t, v, c.args, c.simArgs, c.extra)
				out := p.must(c.code, append([]string{"up", "a"}, c.upArgs...)...)
				contains(t, out, c.want...)
				if c.name == "kv too small" {
					// The fix names the length vLLM estimated (the simulator's
					// figure comes from the planner, so it is read, not fixed here).
					m := regexp.MustCompile(`estimated maximum model length is (\d+)`).FindStringSubmatch(out)
					if m == nil {
						t.Fatalf("no estimated maximum model length in:\n%s", out)
					}
					contains(t, out, "fix: lower --max-model-len to "+m[1]+" (vLLM's estimate)")
				}
			})
		}
	}
}

func TestRollbackAndDrift(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			p := newProject(t, v, goodArgs, "", "")
			p.must(0, "up", "a")
			// drift: the files change under a running engine
			p.write("configs/docker/profiles/a.yml", fmt.Sprintf(profileTmpl, "", strings.Replace(goodArgs, "--max-model-len=4096", "--max-model-len=2048", 1), p.port, ""))
			out := p.must(0, "status", "a")
			contains(t, out, "YES", "files changed since deploy")
			// a bad config rolls back to the good one
			p.write("configs/docker/profiles/a.yml", fmt.Sprintf(profileTmpl, "", strings.Replace(goodArgs, "Qwen/Qwen3-0.6B", "Qwen/Qwen3-32B", 1), p.port, ""))
			out = p.must(1, "up", "a", "--skip-plan", "--rollback-on-failure")
			contains(t, out, "rolling back to deploy", "rolled back to config")
			out = p.must(0, "history", "a")
			contains(t, out, "rolled-back", "failed")
			out = p.must(0, "status", "a")
			contains(t, out, "ready")
		})
	}
}

func writeFile(dir, rel, content string) error {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// runIn runs vllmctl in dir.
func runIn(dir string, args ...string) (string, int) {
	cmd := exec.Command(vllmctl, append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "VLLMCTL_NO_NVIDIA_SMI=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		return err.Error(), -1
	}
	return string(out), 0
}

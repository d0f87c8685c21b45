package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// altProfile is profile name on port with served name served and GPU share
// util on GPU 0; extra goes into the service (container_name, environment).
func altProfile(name, served string, port int, util, extra string) string {
	return fmt.Sprintf(`services:
  vllm-%s:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
%s    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=%s", "--api-key=${KEY_A}", "--max-model-len=4096", "--gpu-memory-utilization=%s", "--enforce-eager"]
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["0"], capabilities: [gpu]}]}}}
volumes: {hf: {}}
`, name, extra, served, util, port)
}

// TestAlternativesReplace: b shares a's container_name and port. up b while
// a runs refuses without a terminal and --replace (exit 2, naming a and the
// flag); with --replace a is stopped and b answers; a replacement that does
// not become ready is removed and the one it replaced comes back; the
// history keeps both.
func TestAlternativesReplace(t *testing.T) {
	for _, v := range []variant{variants[1], variants[2]} {
		t.Run(v.name, func(t *testing.T) {
			p := newProject(t, v, goodArgs, "", "")
			cname := p.name + "-main"
			shared := "    container_name: " + cname + "\n"
			p.write("configs/docker/profiles/a.yml", altProfile("a", "tiny", p.port, "0.5", shared))
			p.write("configs/docker/profiles/b.yml", altProfile("b", "tinyb", p.port, "0.5", shared))
			t.Cleanup(func() { p.run("down", "b") })
			p.must(0, "up", "a")

			out := p.must(2, "up", "b")
			contains(t, out, "b would replace a (shares container_name "+cname+"), which is running", "pass --replace")
			if st, _, _ := statusOf(t, p, "a"); st != "running" {
				t.Fatalf("a refusal stopped a: %s", st)
			}
			if st, _, _ := statusOf(t, p, "b"); st != "not deployed" {
				t.Fatalf("a refusal deployed b: %s", st)
			}

			out = p.must(0, "up", "b", "--replace")
			contains(t, out, "stopping a (shares container_name "+cname+"): b replaces it", "b replaced a", "b ready in")
			if st, _, _ := statusOf(t, p, "a"); st != "not deployed" {
				t.Fatalf("a after the replacement: %s", st)
			}
			if st, health, _ := statusOf(t, p, "b"); st != "running" || health != "ready" {
				t.Fatalf("b after the replacement: %s %s", st, health)
			}
			ha, hb := history(t, p, "a"), history(t, p, "b")
			if last := ha[len(ha)-1]; last.Outcome != "replaced" || last.ReplacedBy != "b" {
				t.Fatalf("a's history: %+v", ha)
			}
			bUp := hb[len(hb)-1]
			if len(bUp.Replaced) != 1 || bUp.Replaced[0] != "a" || bUp.Outcome != "ready" {
				t.Fatalf("b's history: %+v", hb)
			}

			// a now fails at load: up a --replace removes it and brings b back.
			p.write("configs/docker/profiles/a.yml", altProfile("a", "tiny", p.port, "0.5", shared+"    environment: {VLLM_SIM_ARGS: \"--sim-fail-at loading\"}\n"))
			out = p.must(1, "up", "a", "--replace")
			contains(t, out, "bringing b back", "brought b back (its deploy "+bUp.ID)
			if st, health, _ := statusOf(t, p, "b"); st != "running" || health != "ready" {
				t.Fatalf("b was not brought back: %s %s\n%s", st, health, out)
			}
			if st, _, _ := statusOf(t, p, "a"); st != "not deployed" {
				t.Fatalf("the failed a was left: %s", st)
			}
			hb = history(t, p, "b")
			back := hb[len(hb)-1]
			ha = history(t, p, "a")
			if back.Outcome != "ready" || back.ReplayOf != bUp.ID || back.RollbackOf != ha[len(ha)-1].ID || ha[len(ha)-1].Outcome != "failed" {
				t.Fatalf("history after the failed replacement: a %+v\nb %+v", ha, hb)
			}
		})
	}
}

// TestLiveClashes: a host port another program holds, a GPU whose running
// engines' shares plus the profile's exceed 1.0, and (docker) a container
// name held by a container this project did not start: up refuses with
// file:line, what and the fix (exit 3) and deploys nothing, unless --force.
func TestLiveClashes(t *testing.T) {
	for _, v := range []variant{variants[1], variants[2]} {
		t.Run(v.name, func(t *testing.T) {
			p := newProject(t, v, goodArgs, "", "")
			// a port something else listens on
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			busy := ln.Addr().(*net.TCPAddr).Port
			p.write("configs/docker/profiles/c.yml", altProfile("c", "tinyc", busy, "0.3", ""))
			out := p.must(3, "up", "c")
			contains(t, out, "configs/docker/profiles/c.yml:6:", fmt.Sprintf("host port %d is already in use by a program that is not an engine of this project", busy),
				"--force deploys anyway", "nothing was deployed")
			if st, _, _ := statusOf(t, p, "c"); st != "not deployed" {
				t.Fatalf("c deployed past the clash: %s", st)
			}
			// --force goes past the refusal; whether the engine then binds
			// the port is Docker's business (a userland proxy or not).
			out, code := p.run("up", "c", "--force", "--stall-timeout", "20s")
			if code == 3 {
				t.Fatalf("up c --force refused again:\n%s", out)
			}
			contains(t, out, "--force: deploying past", fmt.Sprintf("host port %d", busy))
			p.run("down", "c")

			// GPU 0: a runs with 0.5; d asks 0.6
			p.must(0, "up", "a")
			p.write("configs/docker/profiles/d.yml", altProfile("d", "tinyd", freeport.T(t), "0.6", ""))
			out = p.must(3, "up", "d")
			contains(t, out, "configs/docker/profiles/d.yml:5:", "GPU 0: the engines running on it hold a 0.50, and d asks 0.60: 1.10 in all", "vllmctl down a")

			if v.name == "process" {
				return
			}
			// a container name a container vllmctl did not start holds
			name := p.name + "-foreign"
			if out, err := exec.Command("docker", "create", "--name", name, "vllm-sim:dev").CombinedOutput(); err != nil {
				t.Fatalf("docker create: %v\n%s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
			p.write("configs/docker/profiles/e.yml", altProfile("e", "tinye", freeport.T(t), "0.3", "    container_name: "+name+"\n"))
			out = p.must(3, "up", "e")
			contains(t, out, "configs/docker/profiles/e.yml:5:", fmt.Sprintf("container_name %q is taken by container", name), "which vllmctl did not start", "docker rm -f "+name)
			if strings.Contains(out, "e ready") {
				t.Fatal("e was deployed")
			}
		})
	}
}

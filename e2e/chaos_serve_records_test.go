package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// TestChaosServeProcessEnginesThroughDockerOutage: a profile deployed
// on the process runtime, and serve started without --runtime on a host
// where the Docker API answers (through the test's proxy), so serve picks
// docker. serve must route to the process engine from what up recorded
// (issue 11 item 5), and keep routing to it while the Docker API is away.
func TestChaosServeProcessEnginesThroughDockerOutage(t *testing.T) {
	px := newDockerProxy(t)
	p := newProject(t, variants[2], goodArgs, "", "")
	p.must(0, "up", "a")
	gw := freeport.T(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gw)
	s := start(t, p.dir, []string{px.host()}, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", gw), "--refresh", "300ms",
		"--simulate", "--sim-binary", simBin)
	defer s.stop()
	if !waitFor(30*time.Second, func() bool { return chat(base, "tiny") == 200 }) {
		t.Fatalf("REGRESSION (internal/cli/serve.go: serve lists engines on the one backend the flags pick, s.be, not where up recorded each profile): "+
			"serve without --runtime on a Docker host never routes to a profile deployed with --runtime process (last answer %d)\n%s",
			chat(base, "tiny"), s.out.String())
	}
	px.down()
	failed := 0
	deadline := time.Now().Add(outageFor)
	waitFor(outageFor, func() bool {
		if chat(base, "tiny") != 200 {
			failed++
		}
		return time.Now().After(deadline)
	})
	px.up()
	if failed > 0 || strings.Contains(s.out.String(), "panic") {
		t.Fatalf("REGRESSION (internal/cli/serve.go refresh): %d requests to a process-runtime engine failed while the Docker API was away\n%s", failed, s.out.String())
	}
}

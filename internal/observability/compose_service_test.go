package observability

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testServeService() ServeService {
	return ServeService{ComposeName: "myia-vllmctl", Root: "/srv/myia", StateDir: "/srv/myia/.vllmctl", Image: "vllmctl:dev",
		Publish: "127.0.0.1:8080", DockerSocket: "/var/run/docker.sock"}
}

// TestComposeServiceGolden: the file is as reviewed, and Compose's own loader
// reads it with the properties the issue asks for.
func TestComposeServiceGolden(t *testing.T) {
	got, err := ComposeService(testServeService())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "compose-service.golden.yml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("compose service differs from %s (go test -run TestComposeServiceGolden -update):\n%s", golden, got)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{WorkingDir: t.TempDir(),
		ConfigFiles: []types.ConfigFile{{Filename: ComposeServiceFile, Content: got}}}, func(o *loader.Options) { o.SkipResolveEnvironment = true })
	if err != nil {
		t.Fatalf("compose-go cannot load it: %v", err)
	}
	s, err := p.GetService("vllmctl")
	if err != nil {
		t.Fatal(err)
	}
	if s.Restart != "unless-stopped" || s.HealthCheck == nil || len(s.HealthCheck.Test) < 2 || s.Image != "vllmctl:dev" {
		t.Errorf("restart %q, healthcheck %+v, image %q", s.Restart, s.HealthCheck, s.Image)
	}
	if s.NetworkMode != "host" || len(s.Command) < 3 || s.Command[2] != "127.0.0.1:8080" || s.HealthCheck.Test[2] != "http://127.0.0.1:8080/health" {
		t.Errorf("network %q, command %q, healthcheck %q", s.NetworkMode, s.Command, s.HealthCheck.Test)
	}
	mounts := map[string]types.ServiceVolumeConfig{}
	for _, v := range s.Volumes {
		mounts[v.Target] = v
	}
	if m := mounts["/var/run/docker.sock"]; m.Source != "/var/run/docker.sock" {
		t.Errorf("docker socket not mounted: %+v", s.Volumes)
	}
	if m := mounts["/srv/myia"]; m.Source != "/srv/myia" || !m.ReadOnly {
		t.Errorf("project folder not mounted read-only at its own path: %+v", m)
	}
	if m := mounts["/srv/myia/.vllmctl"]; m.Source != "/srv/myia/.vllmctl" || m.ReadOnly {
		t.Errorf("state folder not writable: %+v", m)
	}
}

func TestComposeServiceRefuses(t *testing.T) {
	s := testServeService()
	s.Root = "srv/myia"
	if _, err := ComposeService(s); err == nil {
		t.Error("a relative project folder was accepted")
	}
	s = testServeService()
	s.Publish = "8080"
	if _, err := ComposeService(s); err == nil {
		t.Error("--publish without a host was accepted")
	}
}

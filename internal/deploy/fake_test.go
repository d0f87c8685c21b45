package deploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"go.yaml.in/yaml/v4"
)

// fakeBackend is a runtime whose engines are HTTP servers in this process:
// a profile in fail exits with status 1 instead of answering.
type fakeBackend struct {
	name  string
	mu    sync.Mutex
	insts map[string]runtime.Instance
	srvs  map[string]*httptest.Server
	fail  map[string]bool
	names map[string]runtime.Holder // container names held on the host (docker)
	log   []string                  // apply/remove, in order
	specs map[string]runtime.Spec   // the last spec applied per profile
}

func newFake(name string) *fakeBackend {
	return &fakeBackend{name: name, insts: map[string]runtime.Instance{}, srvs: map[string]*httptest.Server{},
		fail: map[string]bool{}, names: map[string]runtime.Holder{}, specs: map[string]runtime.Spec{}}
}

func (f *fakeBackend) Name() string { return f.name }
func (f *fakeBackend) Commands(spec runtime.Spec) [][]string {
	return [][]string{{"fake", "up", spec.Profile}}
}

func (f *fakeBackend) Apply(_ context.Context, spec runtime.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "apply "+spec.Profile)
	f.specs[spec.Profile] = spec
	if s := f.srvs[spec.Profile]; s != nil {
		s.Close()
	}
	in := runtime.Instance{ID: spec.Profile + "-" + spec.DeployID, Name: spec.Profile, Profile: spec.Profile, Service: engineIn(spec),
		Hash: spec.Hash, State: "running", StartedAt: time.Now(), Runtime: strings.Fields(f.name)[0]}
	if !f.fail[spec.Profile] {
		served := spec.Profile
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/health", "/v1/completions":
				w.WriteHeader(200)
			case "/v1/models":
				fmt.Fprintf(w, `{"data":[{"id":%q}]}`, served)
			default:
				w.WriteHeader(404)
			}
		}))
		f.srvs[spec.Profile] = srv
		u, _ := url.Parse(srv.URL)
		in.HostPort, _ = strconv.Atoi(u.Port())
	}
	f.insts[spec.Profile] = in
	return nil
}

// engineIn is the service compose would start the engine as: the first
// service of the resolved file whose image is vLLM's (as compose starts
// only the services the file lists), else vllm-<profile>.
func engineIn(spec runtime.Spec) string {
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if b, err := os.ReadFile(spec.File); err == nil && yaml.Unmarshal(b, &doc) == nil {
		names := slices.Sorted(maps.Keys(doc.Services))
		for _, n := range names {
			if strings.Contains(doc.Services[n].Image, "vllm") {
				return n
			}
		}
	}
	return "vllm-" + spec.Profile
}

func (f *fakeBackend) Remove(_ context.Context, spec runtime.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "remove "+spec.Profile)
	if s := f.srvs[spec.Profile]; s != nil {
		s.Close()
		delete(f.srvs, spec.Profile)
	}
	delete(f.insts, spec.Profile)
	return nil
}

func (f *fakeBackend) List(_ context.Context, _, profile string) ([]runtime.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runtime.Instance
	for p, in := range f.insts {
		if profile == "" || p == profile {
			out = append(out, in)
		}
	}
	return out, nil
}

func (f *fakeBackend) Logs(context.Context, runtime.Instance, bool, time.Time) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("INFO engine log line\n")), nil
}

func (f *fakeBackend) Exits(ctx context.Context, inst runtime.Instance) <-chan runtime.Exit {
	out := make(chan runtime.Exit, 1)
	f.mu.Lock()
	fail := f.fail[inst.Profile]
	f.mu.Unlock()
	if fail {
		out <- runtime.Exit{Code: 1}
	}
	return out
}

func (f *fakeBackend) ContainerNamed(_ context.Context, name string) (runtime.Holder, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.names[name]
	return h, ok, nil
}

func (f *fakeBackend) running(profile string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.insts[profile]
	return ok
}

func (f *fakeBackend) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.srvs {
		s.Close()
	}
}

// profileYAML is an engine profile on GPU gpu with share util, publishing port.
func profileYAML(name string, port int, gpu string, util float64, extra string) string {
	return fmt.Sprintf(`services:
  vllm-%s:
    image: vllm/vllm-openai:v0.11.0
    ipc: host
%s    command: ["--model=Qwen/Qwen3-0.6B", "--served-model-name=%s", "--max-model-len=4096", "--gpu-memory-utilization=%.2f", "--enforce-eager"]
    ports: ["%d:8000"]
    volumes: ["hf:/root/.cache/huggingface"]
    deploy: {resources: {reservations: {devices: [{driver: nvidia, device_ids: ["%s"], capabilities: [gpu]}]}}}
volumes: {hf: {}}
`, name, extra, name, util, port, gpu)
}

// testProject writes a project of profiles (name → YAML) and loads it.
func testProject(t *testing.T, profiles map[string]string, yaml string) *project.Project {
	t.Helper()
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for n, y := range profiles {
		write("configs/docker/profiles/"+n+".yml", y)
	}
	write("vllmctl.yaml", "project_name: t\n"+yaml)
	p, err := project.Load(context.Background(), project.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// quiet: every port free, no prompt.
func quiet(o UpOptions) UpOptions {
	o.Completion = true
	if o.PortBusy == nil {
		o.PortBusy = func(string, int) bool { return false }
	}
	return o
}

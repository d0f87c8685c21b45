package kube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/kube/kubetest"
	"github.com/vllmctl/vllmctl/internal/project"
)

// profileResult builds a one-profile project named "gpu" whose profile
// "medium" is compose, into namespace ns. Every call gives the same project
// and profile names (the Deployment's selector), another configuration.
func profileResult(t *testing.T, ns, compose string) *Result {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gpu")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "medium.yaml")
	if err := os.WriteFile(file, []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(context.Background(), project.Options{Root: dir, Files: []string{file}, Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(p, nil, Options{Version: "test", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGoodRoundTrip: the manifest up records for an engine (its Service and
// Deployment) reads back with the Deployment's config hash, and applies as
// the same Deployment; a file holding anything else is refused.
func TestGoodRoundTrip(t *testing.T) {
	r := profileResult(t, "ns1", kubetest.GPUProfile(2))
	e := r.Engines[0]
	g, err := GoodOf(e)
	if err != nil {
		t.Fatal(err)
	}
	hash := e.Deployment.Spec.Template.Labels[LabelHash]
	if hash == "" || g.Hash != hash || len(g.Objects) != 2 || g.Objects[0].GetKind() != "Service" || g.Objects[1].GetKind() != "Deployment" {
		t.Fatalf("GoodOf = hash %q, %d objects, want %q, a Service and a Deployment", g.Hash, len(g.Objects), hash)
	}
	data, err := g.YAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseGood("medium", data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash != hash || back.Source != GoodFromState || len(back.Objects) != 2 {
		t.Fatalf("ParseGood = hash %q source %q, %d objects; want %q from the state, 2 objects", back.Hash, back.Source, len(back.Objects), hash)
	}
	eng, err := back.engineOf(e)
	if err != nil {
		t.Fatal(err)
	}
	if eng.Deployment.Name != e.Name || enginePort(eng) != enginePort(e) || eng.Deployment.Spec.Template.Labels[LabelHash] != hash {
		t.Errorf("the engine of the read-back manifest = %s port %d, want %s port %d", eng.Deployment.Name, enginePort(eng), e.Name, enginePort(e))
	}
	if len(eng.served) != 1 || eng.served[0] != "Qwen/Qwen3-8B" {
		t.Errorf("served names of the read-back manifest = %q, want the model", eng.served)
	}
	// A last good manifest serving another name is probed for that name,
	// not the failed config's.
	named := profileResult(t, "ns1", strings.Replace(kubetest.GPUProfile(2), `"--tensor-parallel-size"`, `"--served-model-name", "chat", "--tensor-parallel-size"`, 1))
	ng, err := GoodOf(named.Engines[0])
	if err != nil {
		t.Fatal(err)
	}
	if eng, err := ng.engineOf(e); err != nil || len(eng.served) != 1 || eng.served[0] != "chat" {
		t.Errorf("served names of a manifest with --served-model-name chat = %v (%v), want chat", eng, err)
	}
	if _, err := ParseGood("medium", []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")); err == nil || !strings.Contains(err.Error(), "Secret") {
		t.Errorf("ParseGood of a Secret = %v, want refused", err)
	}
	if _, err := ParseGood("medium", []byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")); err == nil || !strings.Contains(err.Error(), "no Deployment") {
		t.Errorf("ParseGood without a Deployment = %v, want refused", err)
	}
}

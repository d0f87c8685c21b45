package kube

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/vllmctl/vllmctl/internal/project"
)

var update = flag.Bool("update", false, "rewrite the want/ sections of testdata/export/*.txtar")

// loadArchive writes an archive's files (all but args and want/…) into a
// temporary project and loads it as its args say (--file=F, --namespace=N).
func loadArchive(t testing.TB, a *txtar.Archive) (*project.Project, Options) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "demo")
	var opts Options
	var files []string
	for _, f := range a.Files {
		switch {
		case f.Name == "args":
			for _, arg := range strings.Fields(string(f.Data)) {
				k, v, _ := strings.Cut(arg, "=")
				switch k {
				case "--file":
					files = append(files, filepath.Join(root, v))
				case "--namespace":
					opts.Namespace = v
				default:
					t.Fatalf("args: unknown %q", arg)
				}
			}
		case strings.HasPrefix(f.Name, "want/"):
		default:
			p := filepath.Join(root, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, err := project.Load(context.Background(), project.Options{Root: root, Files: files, Environ: map[string]string{}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	opts.Version = "v1.0.0-test"
	return p, opts
}

// render is what the golden files hold: each file of the export (secrets
// masked), the warnings, or the refusal.
func render(t testing.TB, p *project.Project, opts Options) map[string]string {
	out := map[string]string{}
	res, err := Build(p, nil, opts)
	if err != nil {
		var le *LocatedError
		if !errors.As(err, &le) {
			t.Fatalf("Build: %v (not a located refusal)", err)
		}
		out["want/error"] = err.Error() + "\n"
		return out
	}
	files, err := Render(res, false)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, f := range files {
		out["want/"+f.Name] = string(f.Data)
	}
	var w strings.Builder
	for _, x := range res.Warnings {
		w.WriteString(x.String() + "\n")
	}
	out["want/warnings"] = w.String()
	return out
}

func TestExportGolden(t *testing.T) {
	paths, _ := filepath.Glob("testdata/export/*.txtar")
	if len(paths) < 5 {
		t.Fatalf("found %d golden archives in testdata/export, want the example project and several authors' files", len(paths))
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, opts := loadArchive(t, a)
			got := render(t, p, opts)
			if *update {
				var kept []txtar.File
				for _, f := range a.Files {
					if !strings.HasPrefix(f.Name, "want/") {
						kept = append(kept, f)
					}
				}
				names := make([]string, 0, len(got))
				for n := range got {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					kept = append(kept, txtar.File{Name: n, Data: []byte(got[n])})
				}
				a.Files = kept
				if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := map[string]string{}
			for _, f := range a.Files {
				if strings.HasPrefix(f.Name, "want/") {
					want[f.Name] = string(f.Data)
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s has no want/ section: run go test -run TestExportGolden -update", path)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("export differs (-want +got; -update rewrites):\n%s", d)
			}
		})
	}
}

// TestSecretsOnlyInSecretFile: the example's secret values appear in
// secret.yaml with --include-secrets, and in no other file, masked or not.
func TestSecretsOnlyInSecretFile(t *testing.T) {
	a, err := txtar.ParseFile("testdata/export/example.txtar")
	if err != nil {
		t.Fatal(err)
	}
	p, opts := loadArchive(t, a)
	secrets := map[string]string{}
	for k, v := range p.Env.Values {
		if project.IsSecretName(k) && v != "" {
			secrets[k] = v
		}
	}
	if len(secrets) < 3 {
		t.Fatalf("the example's .env holds %d secret values, want the three API keys", len(secrets))
	}
	res, err := Build(p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, include := range []bool{false, true} {
		files, err := Render(res, include)
		if err != nil {
			t.Fatal(err)
		}
		sawSecretFile := false
		for _, f := range files {
			for k, v := range secrets {
				has := bytes.Contains(f.Data, []byte(v))
				switch {
				case f.Name == SecretFile:
					sawSecretFile = true
					if !has {
						t.Errorf("%s lacks the value of %s", f.Name, k)
					}
					if !f.Secret {
						t.Errorf("%s is not marked secret (it would be printed or written world-readable)", f.Name)
					}
				case has:
					t.Errorf("include=%v: %s holds the value of %s", include, f.Name, k)
				}
			}
		}
		if sawSecretFile != include {
			t.Errorf("include=%v: secret.yaml written = %v", include, sawSecretFile)
		}
	}
}

// TestIncludeSecretsRefusesUnknown: a secret nothing sets cannot be written.
func TestIncludeSecretsRefusesUnknown(t *testing.T) {
	a, err := txtar.ParseFile("testdata/export/trinq2003.txtar")
	if err != nil {
		t.Fatal(err)
	}
	p, opts := loadArchive(t, a)
	res, err := Build(p, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(res, true); err == nil || !strings.Contains(err.Error(), "HUGGING_FACE_HUB_TOKEN") {
		t.Fatalf("Render with secrets = %v, want a refusal naming HUGGING_FACE_HUB_TOKEN", err)
	}
}

func mustArchive(t testing.TB, path string) *txtar.Archive {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

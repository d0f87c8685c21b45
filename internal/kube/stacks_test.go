package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
	"sigs.k8s.io/yaml"
)

var updateStacks = os.Getenv("VLLMCTL_UPDATE_STACKS") != ""

// TestStacksGolden: export production-stack and export kubeai of the golden
// archives that export, and their warnings (testdata/stacks/<name>.txtar;
// VLLMCTL_UPDATE_STACKS=1 rewrites them).
func TestStacksGolden(t *testing.T) {
	paths, _ := filepath.Glob("testdata/export/*.txtar")
	n := 0
	for _, path := range paths {
		a, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, opts := loadArchive(t, a)
		if _, err := Build(p, nil, opts); err != nil {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			n++
			got := map[string]string{}
			for _, x := range []struct {
				what string
				f    func(*Result) ([]File, error)
			}{{"production-stack", ProductionStack}, {"kubeai", KubeAI}} {
				res, err := Build(p, nil, opts)
				if err != nil {
					t.Fatal(err)
				}
				files, err := x.f(res)
				if err != nil {
					got[x.what+"/error"] = err.Error() + "\n"
				}
				for _, f := range files {
					var any map[string]any // every document is YAML
					for _, doc := range strings.Split(string(f.Data), "\n---\n") {
						if err := yaml.Unmarshal([]byte(doc), &any); err != nil {
							t.Errorf("%s: %v", f.Name, err)
						}
					}
					got[x.what+"/"+f.Name] = string(f.Data)
				}
				var w strings.Builder
				for _, x := range res.Warnings {
					w.WriteString(x.String() + "\n")
				}
				got[x.what+"/warnings"] = w.String()
			}
			golden := filepath.Join("testdata", "stacks", name+".txtar")
			if updateStacks {
				ar := &txtar.Archive{Comment: []byte("export production-stack and export kubeai of testdata/export/" + name + ".txtar.\n")}
				for _, k := range sortedKeys(got) {
					ar.Files = append(ar.Files, txtar.File{Name: k, Data: []byte(got[k])})
				}
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			ar, err := txtar.ParseFile(golden)
			if err != nil {
				t.Fatalf("%v (VLLMCTL_UPDATE_STACKS=1 writes it)", err)
			}
			want := map[string]string{}
			for _, f := range ar.Files {
				want[f.Name] = string(f.Data)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if n < 3 {
		t.Fatalf("%d archives exported, want at least 3", n)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

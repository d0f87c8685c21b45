package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// TestHelmChartLintsAndRendersTheExport: for every golden archive that
// exports, the chart passes helm lint (no warning) and renders, through the
// Helm SDK, exactly the objects export kubernetes writes.
func TestHelmChartLintsAndRendersTheExport(t *testing.T) {
	paths, _ := filepath.Glob("testdata/export/*.txtar")
	charts := 0
	for _, path := range paths {
		a, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, opts := loadArchive(t, a)
		res, err := Build(p, nil, opts)
		if err != nil {
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			charts++
			files, err := Chart(res, opts.Version)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), res.Project)
			for _, f := range files {
				fp := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(fp, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l := lint.RunAll(dir, nil, "default")
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m.Error())
				}
			}
			ch, err := loader.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := util.ToRenderValues(ch, nil, common.ReleaseOptions{Name: "test", Namespace: "default", IsInstall: true}, common.DefaultCapabilities)
			if err != nil {
				t.Fatal(err)
			}
			out, err := engine.Render(ch, vals)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for name, text := range out {
				if !strings.HasSuffix(name, ".yaml") {
					continue
				}
				for _, doc := range strings.Split(text, "\n---") {
					if strings.TrimSpace(doc) == "" {
						continue
					}
					var m map[string]any
					if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
						t.Fatalf("%s: %v\n%s", name, err, doc)
					}
					meta, _ := m["metadata"].(map[string]any)
					got[m["kind"].(string)+"/"+meta["name"].(string)] = m
				}
			}
			want := map[string]map[string]any{}
			for _, e := range res.Engines {
				for _, o := range e.Objects() {
					m := canonical(t, o)
					meta, _ := m["metadata"].(map[string]any)
					want[m["kind"].(string)+"/"+meta["name"].(string)] = m
				}
			}
			if len(want) == 0 {
				t.Fatal("the export has no object")
			}
			for k, g := range got {
				got[k] = canonical(t, g)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("helm template differs from export kubernetes (-export +helm):\n%s", d)
			}
		})
	}
	if charts < 3 {
		t.Fatalf("%d charts tested, want the example's and the other exports'", charts)
	}
}

// canonical is an object as plain data after a YAML round trip (numbers and
// quantities as YAML reads them), without server fields.
func canonical(t *testing.T, o any) map[string]any {
	t.Helper()
	var src any = o
	if ro, ok := o.(runtime.Object); ok {
		m, err := toMap(ro)
		if err != nil {
			t.Fatal(err)
		}
		src = m
	}
	b, err := yaml.Marshal(src)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	clean(m)
	return m
}

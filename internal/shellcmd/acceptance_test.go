//go:build acceptance

package shellcmd

import (
	"context"
	"flag"
	"github.com/vllmctl/vllmctl/internal/acceptance"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus.golden")

// TestCorpus reads the real compose files and wrapper scripts beside the
// checkout (../shared/corpus) and lists, per shell wrapper, the vLLM command it
// starts. The list is golden: testdata/corpus.golden, rewritten with -update.
func TestCorpus(t *testing.T) {
	root := acceptance.Shared(t, "corpus")
	var lines []string

	scripts, _ := filepath.Glob(filepath.Join(root, "*", "*.sh"))
	if len(scripts) == 0 {
		t.Fatalf("no wrapper scripts under %s: the corpus is missing", root)
	}
	for _, f := range scripts {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := Parse(string(b), Options{})
		lines = append(lines, describe(rel(root, f), cmds, err))
	}

	var composes []string
	for _, pat := range []string{"*/*.yml", "*/*.yaml", "*/*/*/*.yml"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		composes = append(composes, m...)
	}
	wrappers := 0
	for _, f := range composes {
		p, err := load(t.Context(), f)
		if err != nil {
			continue // not this package's concern: the loader tests judge it
		}
		for _, name := range sortedServices(p) {
			s := p.Services[name]
			argv := append(append([]string{}, s.Entrypoint...), s.Command...)
			script, args, ok := IsShell(argv)
			if !ok {
				continue
			}
			wrappers++
			env := func(n string) (string, bool) {
				v, ok := s.Environment[n]
				if !ok || v == nil {
					return "", false
				}
				return *v, true
			}
			cmds, err := Parse(script, Options{Env: env, Args: PositionalArgs(args)})
			lines = append(lines, describe(rel(root, f)+" "+name, cmds, err))
		}
	}
	if wrappers == 0 {
		t.Fatalf("no shell wrapper found in %d compose files", len(composes))
	}

	got := strings.Join(lines, "\n") + "\n"
	golden := filepath.Join("testdata", "corpus.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("corpus results (-golden +got):\n%s", diff)
	}
}

func describe(what string, cmds []Command, err error) string {
	if err != nil {
		return what + ": error " + err.Error()
	}
	cmd, i, ok := FindVLLM(cmds)
	if !ok {
		return what + ": no vLLM command"
	}
	return what + ": " + render(Command{Words: cmd.Words[i:], Line: cmd.Line, Exec: cmd.Exec})
}

func rel(root, f string) string {
	r, err := filepath.Rel(root, f)
	if err != nil {
		return f
	}
	return filepath.ToSlash(r)
}

func sortedServices(p *types.Project) []string {
	var names []string
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func load(ctx context.Context, file string) (*types.Project, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(file),
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: b}},
		Environment: types.Mapping{},
	}
	return loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName("corpus", true)
		o.SkipValidation = true
		o.SkipConsistencyCheck = true
		o.SkipResolveEnvironment = true
		o.SkipInclude = true
		o.SkipExtends = true
		o.Profiles = []string{"*"}
	})
}

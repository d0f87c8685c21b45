package internal_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/vllmctl/vllmctl/"

// forbidden lists, per package, internal packages it must not import, and why.
// The direction is cmd → cli → deploy → {check, plan, monitor, archive, state,
// runtime} → {project, vllm}; serve mode (internal/serve) wires gateway,
// watchdog and metrics over deploy, and cli only turns its flags into options.
var forbidden = map[string]map[string]string{
	"internal/project":     {"internal/check": "the loader knows nothing of checks", "internal/plan": "pure loader", "internal/runtime": "pure loader", "internal/cli": "core never imports the UI"},
	"internal/vllm":        {"internal/project": "pure vLLM knowledge, stdlib only", "internal/runtime": "pure"},
	"internal/check":       {"internal/runtime": "check is pure", "internal/deploy": "check is pure", "internal/cli": "core never imports the UI"},
	"internal/plan":        {"internal/runtime": "plan is pure", "internal/deploy": "plan is pure", "internal/cli": "core never imports the UI"},
	"internal/monitor":     {"internal/runtime": "observations come through its interfaces", "internal/deploy": "monitor is below deploy"},
	"internal/runtime":     {"internal/vllm": "the runtime runs things, it does not read vLLM", "internal/check": "", "internal/plan": "", "internal/monitor": "", "internal/deploy": "runtime is below deploy"},
	"internal/deploy":      {"internal/cli": "core never imports the UI", "internal/serve": "the daemon is above the verbs", "internal/gateway": "serve wiring lives in serve", "internal/watchdog": "serve wiring lives in serve", "internal/metrics": "serve wiring lives in serve"},
	"internal/gateway":     {"internal/serve": "serve wires it, not the other way", "internal/runtime": "stdlib only", "internal/project": "routes come through an interface", "internal/metrics": "observers come through an interface"},
	"internal/watchdog":    {"internal/serve": "serve wires it, not the other way", "internal/runtime": "acts through a narrow Restarter", "internal/gateway": "independent of the gateway"},
	"internal/metrics":     {"internal/serve": "serve wires it, not the other way", "internal/gateway": "satisfies its observer structurally", "internal/watchdog": "satisfies its observer structurally"},
	"internal/archive":     {"internal/runtime": "archive is file work only"},
	"internal/audit":       {"internal/runtime": "running engines arrive as values"},
	"internal/docs":        {"internal/runtime": "docs are rendered from files"},
	"internal/state":       {"internal/runtime": "state is below the runtime"},
	"internal/atomicfile":  {"internal/project": "stdlib only"},
	"internal/redact":      {"internal/project": "stdlib only"},
	"internal/shellcmd":    {"internal/project": "pure shell reading, knows nothing of compose", "internal/vllm": "finds launchers by name only", "internal/runtime": "never runs anything"},
	"internal/vllm/flagdb": {"internal/project": "pure data", "internal/vllm": "leaf: vllm may import it"},
	"internal/resolve":     {"internal/runtime": "exporters render the deployed file without a runtime", "internal/deploy": "below the verbs", "internal/cli": "core never imports the UI"},
	"internal/serve":       {"internal/cli": "the daemon knows no flags nor terminals", "internal/check": "serve deploys through deploy, which checks"},
	"internal/sim":         {"internal/cli": "the simulator stands alone", "internal/deploy": "", "internal/runtime": ""},
	"internal/dashboard":   {"internal/cli": "core never imports the UI", "internal/runtime": "engines are read through serve (Source)"},
	"internal/bench":       {"internal/deploy": "bench measures; deploys are promote's", "internal/runtime": "targets are URLs", "internal/cli": "core never imports the UI"},
	"internal/promote":     {"internal/runtime": "deploys through internal/deploy only", "internal/cli": "core never imports the UI"},

	"internal/observability": {"internal/runtime": "pure: values in, files out", "internal/deploy": "pure", "internal/project": "the CLI reads the project and passes values", "internal/cli": "core never imports the UI"},
}

// allowedDirect is the short list of direct module dependencies.
var allowedDirect = map[string]string{
	"github.com/compose-spec/compose-go/v2":    "compose loading and interpolation, as Compose does it",
	"github.com/spf13/cobra":                   "the CLI",
	"github.com/spf13/pflag":                   "cobra's flag package (its FlagSet and Flag types), to pass a promotion's flags on to its recovery guard",
	"github.com/moby/moby/client":              "the Engine API",
	"github.com/moby/moby/api":                 "Engine API types and stdcopy",
	"github.com/prometheus/client_golang":      "metrics",
	"github.com/prometheus/common":             "reading engines' /metrics (expfmt)",
	"go.yaml.in/yaml/v4":                       "YAML with node positions (compose-go's own)",
	"github.com/santhosh-tekuri/jsonschema/v6": "x-vllmctl schema validation (compose-go's own)",
	"github.com/sirupsen/logrus":               "silencing compose-go's logger",
	"github.com/google/go-cmp":                 "tests",
	"github.com/rogpeppe/go-internal":          "tests: testscript, txtar",
	"github.com/openai/openai-go/v3":           "tests: the official OpenAI client against the simulator and gateway",
	"helm.sh/helm/v4":                          "tests: lint and render the exported chart with the Helm SDK",
	"k8s.io/api":                               "typed Kubernetes objects for export kubernetes (internal/kube)",
	"k8s.io/client-go":                         "server-side apply and the rollout watch on a cluster (internal/kube)",
	"k8s.io/apimachinery":                      "Kubernetes quantities, meta and intstr types (internal/kube)",
	"sigs.k8s.io/yaml":                         "Kubernetes objects as YAML, through their JSON tags (internal/kube)",
	"mvdan.cc/sh/v3":                           "reading the shell scripts that start engines (parsed, never run)",
	"github.com/chromedp/chromedp":             "tests: the dashboard in a real headless chromium",
}

type pkg struct {
	ImportPath  string
	Imports     []string
	TestImports []string
	Doc         string
	GoFiles     []string
	Module      *struct{ Path string }
}

func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	direct := map[string]bool{}
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, mod)
		if p.Doc == "" && len(p.GoFiles) > 0 { // test-only packages (e2e) document themselves in tests
			t.Errorf("%s has no package doc comment", rel)
		}
		for _, imp := range p.Imports {
			if irel, ok := strings.CutPrefix(imp, mod); ok {
				if why, bad := forbidden[rel][irel]; bad {
					t.Errorf("%s imports %s: forbidden (%s)", rel, irel, why)
				}
				continue
			}
			if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				direct[imp] = true
			}
		}
		for _, imp := range p.TestImports {
			if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, mod) {
				direct[imp] = true
			}
		}
	}
	for imp := range direct {
		ok := false
		for m := range allowedDirect {
			if imp == m || strings.HasPrefix(imp, m+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("direct dependency %s is not on the allow-list (add it with a reason, or use the standard library)", imp)
		}
	}
}

package observability

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
)

// promtool runs Debian's promtool (package prometheus; `make tools-prometheus`
// installs it) and fails the test, never skips it, when it is missing.
func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed: run `make tools-prometheus` (Debian's prometheus package: apt-get install -y --no-install-recommends prometheus)")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testConfig is the project the unit tests in testdata/alerts_test.yml speak of.
func testConfig() Config {
	return Config{
		Engines: []Engine{
			{Profile: "mini", Service: "vllm-mini", Model: "qwen3-8b", ConfigHash: "aaaa", Address: "127.0.0.1:5001", TTFTObjective: time.Second},
			{Profile: "medium", Service: "vllm-medium", Model: "qwen3-32b", ConfigHash: "bbbb", Address: "127.0.0.1:5002"},
			{Profile: "large", Service: "vllm-large", Model: "big", ConfigHash: "cccc", Address: "127.0.0.1:5003"},
			{Profile: "small", Service: "vllm-small", Model: "small", ConfigHash: "dddd", Address: "127.0.0.1:5004"},
			{Profile: "nowhere", Service: "vllm-nowhere", Unknown: "its host port comes from ${PORT}, which no .env sets"},
		},
		Gateway: "127.0.0.1:8080",
		Timing:  DefaultTiming(),
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPromtoolChecksConfigAndRules: the written configuration and rules pass
// `promtool check config` (which loads the rule file too) and `check rules`.
func TestPromtoolChecksConfigAndRules(t *testing.T) {
	dir := t.TempDir()
	c := testConfig()
	cfg, err := ScrapeConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := AlertRules(c)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, ConfigFile), cfg)
	writeFile(t, filepath.Join(dir, RulesFile), rules)
	out := promtool(t, dir, "check", "config", ConfigFile)
	if !strings.Contains(out, "SUCCESS") || !strings.Contains(out, RulesFile) {
		t.Errorf("promtool check config did not report the rule file checked:\n%s", out)
	}
	out = promtool(t, dir, "check", "rules", RulesFile)
	want := 0
	for _, g := range Rules(c).Groups {
		want += len(g.Rules)
	}
	if !strings.Contains(out, "SUCCESS: "+strconv.Itoa(want)+" rules found") {
		t.Errorf("promtool check rules: want %d rules:\n%s", want, out)
	}
	for _, s := range []string{"profile: mini", "config_hash: aaaa", "model: qwen3-8b", "127.0.0.1:5001", "127.0.0.1:8080",
		"not scraped: its host port comes from ${PORT}"} {
		if !strings.Contains(string(cfg), s) {
			t.Errorf("prometheus.yml lacks %q:\n%s", s, cfg)
		}
	}
}

// TestPromtoolRuleUnitTests runs testdata/alerts_test.yml: every alert firing
// and not firing, under vLLM's old and new metric names.
func TestPromtoolRuleUnitTests(t *testing.T) {
	dir := t.TempDir()
	rf := Rules(testConfig())
	for gi := range rf.Groups {
		for ri := range rf.Groups[gi].Rules {
			rf.Groups[gi].Rules[ri].Annotations = nil // compared verbatim by promtool; checked by TestPromtoolChecksConfigAndRules
		}
	}
	b, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, RulesFile), b)
	tests, err := os.ReadFile("testdata/alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "alerts_test.yml"), tests)
	out := promtool(t, dir, "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
	// every alert the rules define is exercised by the unit tests
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if !strings.Contains(string(tests), "alertname: "+r.Alert+"\n") {
				t.Errorf("testdata/alerts_test.yml never expects %s to fire", r.Alert)
			}
		}
	}
}

package flagdb

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vllmctl/vllmctl/internal/vllm/flagdb/internal/build"
)

func v(major, minor, patch int) Version { return Version{major, minor, patch} }

// TestGeneratedIsFresh regenerates flags_gen.go in memory from sources/ and fails when the
// committed file differs: run `go generate ./internal/vllm/flagdb`.
func TestGeneratedIsFresh(t *testing.T) {
	want, err := build.Generate(os.DirFS("sources"))
	if err != nil {
		t.Fatalf("generating from sources/: %v", err)
	}
	got, err := os.ReadFile("flags_gen.go")
	if err != nil {
		t.Fatalf("reading flags_gen.go: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("flags_gen.go is stale (%d bytes, sources give %d); run: go generate ./internal/vllm/flagdb", len(got), len(want))
	}
}

func TestSourcesStaySmall(t *testing.T) {
	files, err := os.ReadDir("sources")
	if err != nil {
		t.Fatal(err)
	}
	total, n := 0, 0
	for _, f := range files {
		info, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > 200<<10 {
			t.Errorf("sources/%s is %d bytes, over 200 KiB", f.Name(), info.Size())
		}
		total += int(info.Size())
		if strings.HasSuffix(f.Name(), ".txt") {
			n++
		}
	}
	if total > 1<<20 {
		t.Errorf("sources/ holds %d bytes, over 1 MiB", total)
	}
	if n != len(Releases()) {
		t.Errorf("%d source files but %d releases in the table", n, len(Releases()))
	}
}

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Version
		ok   bool
	}{
		{"v0.10.1.1", v(0, 10, 1), true},
		{"0.11.0", v(0, 11, 0), true},
		{"0.27.1rc1", v(0, 27, 1), true},
		{"v0.27.1-ubuntu2404", v(0, 27, 1), true},
		{"0.6.3.post1", v(0, 6, 3), true},
		{"0.9", v(0, 9, 0), true},
		{"latest", Version{}, false},
		{"nightly", Version{}, false},
		{"v", Version{}, false},
		{"0", Version{}, false},
		{"0.10.x", Version{}, false},
		{"gemma4-cu130", Version{}, false},
	} {
		got, ok := ParseVersion(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestVersionOrder(t *testing.T) {
	if !v(0, 9, 2).Less(v(0, 10, 0)) || v(0, 10, 0).Less(v(0, 9, 2)) || v(0, 10, 0).Less(v(0, 10, 0)) {
		t.Error("Less does not order 0.9.2 < 0.10.0 numerically")
	}
	if v(0, 10, 1).String() != "0.10.1" || (Version{}).String() != "" || !(Version{}).IsZero() || v(0, 1, 0).IsZero() {
		t.Error("String/IsZero wrong")
	}
}

func TestImageVersion(t *testing.T) {
	for _, c := range []struct {
		ref  string
		want Version
		pin  Pin
	}{
		{"vllm/vllm-openai:v0.10.1.1", v(0, 10, 1), Pinned},
		{"vllm/vllm-openai:v0.27.1-ubuntu2404", v(0, 27, 1), Pinned},
		{"rocm/vllm:rocm6.4.1_vllm_0.10.1_20250909", v(0, 10, 1), Pinned},
		{"vllm/vllm-openai-rocm:v0.10.0", v(0, 10, 0), Pinned},
		{"docker.io/vllm/vllm-openai:v0.11.0", v(0, 11, 0), Pinned},
		{"--platform=linux/amd64 vllm/vllm-openai:v0.9.2 AS base", v(0, 9, 2), Pinned},
		{"localhost:5000/vllm/vllm-openai:v0.8.5", v(0, 8, 5), Pinned},
		{"vllm/vllm-openai:latest", Version{}, Unpinned},
		{"vllm/vllm-openai:nightly", Version{}, Unpinned},
		{"vllm/vllm-openai:main", Version{}, Unpinned},
		{"vllm/vllm-openai:gemma4-cu130", Version{}, Unpinned},
		{"vllm/vllm-openai", Version{}, Unpinned},
		{"localhost:5000/vllm/vllm-openai", Version{}, Unpinned},
		{"vllm/vllm-openai@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Version{}, Unpinned},
		{"nvcr.io/nvidia/vllm:26.01-py3", Version{}, Unpinned},
		{"", Version{}, Unpinned},
	} {
		got, pin := ImageVersion(c.ref)
		if got != c.want || pin != c.pin {
			t.Errorf("ImageVersion(%q) = %v, %v; want %v, %v", c.ref, got, pin, c.want, c.pin)
		}
	}
}

// sourceAtCommit matches a vLLM source file (upstream's or a fork's) pinned to a commit, as
// sources/ cites it.
var sourceAtCommit = regexp.MustCompile(`^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/blob/[0-9a-f]{40}/vllm/[a-z0-9_/]+\.py$`)

// vllmThread matches an issue or pull request of vLLM's own repository, which sources/ cites for
// what dates prove (a flag added after a release was published, a release that ran a flag).
var vllmThread = regexp.MustCompile(`^https://github\.com/vllm-project/vllm/(issues|pull)/[0-9]+$`)

func TestReleasesSpanAndSources(t *testing.T) {
	rs := Releases()
	if len(rs) < 10 {
		t.Fatalf("only %d releases", len(rs))
	}
	if rs[0].Version != v(0, 4, 2) || Newest() != v(0, 33, 0) || rs[len(rs)-1].Version != Newest() {
		t.Errorf("table spans %v..%v (Newest %v); want 0.4.2..0.33.0", rs[0].Version, rs[len(rs)-1].Version, Newest())
	}
	for i, r := range rs {
		if i > 0 && !rs[i-1].Version.Less(r.Version) {
			t.Errorf("releases out of order at %v", r.Version)
		}
		for _, u := range strings.Fields(r.Source) {
			if !strings.HasPrefix(u, "https://docs.vllm.ai/en/v") && !sourceAtCommit.MatchString(u) && !vllmThread.MatchString(u) {
				t.Errorf("%v: source %q is neither a versioned docs.vllm.ai page, a vLLM source file at a commit nor a vLLM issue or pull request", r.Version, u)
			}
		}
		if r.Source == "" {
			t.Errorf("%v has no source URL", r.Version)
		}
	}
}

func TestLookupSpellings(t *testing.T) {
	for _, c := range []struct {
		in, want string
		neg      bool
	}{
		{"--max-model-len", "max-model-len", false},
		{"--max_model_len", "max-model-len", false},
		{"max-model-len", "max-model-len", false},
		{"--port=8000", "port", false},
		{"-asc", "api-server-count", false},
		{"-O", "compilation-config", false},
		{"-O.mode=0", "compilation-config", false},
		{"-O3", "compilation-config", false},
		{"--compilation-config.cudagraph_mode", "compilation-config", false},
		{"--no-enable-log-requests", "enable-log-requests", true},
		{"--no-use-tqdm-on-load", "use-tqdm-on-load", true},
		// Short aliases the parsers declare (0.7.2 and 0.11.1 arg_utils.py).
		{"-tp", "tensor-parallel-size", false},
		{"-pp", "pipeline-parallel-size", false},
		{"-dp", "data-parallel-size", false},
		{"-q", "quantization", false},
		{"-spec-draft-tp", "speculative-draft-tensor-parallel-size", false},
		{"--no-enable-prefix-caching", "enable-prefix-caching", true},
	} {
		e, ok := Lookup(c.in)
		if !ok || e.Name != c.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", c.in, e.Name, ok, c.want)
		}
		if Negated(c.in) != c.neg {
			t.Errorf("Negated(%q) = %v; want %v", c.in, !c.neg, c.neg)
		}
	}
	for _, in := range []string{"--no-disable-log-stats", "--definitely-not-a-flag", "-model", "--max-model-len.x", "-tpx"} {
		if e, ok := Lookup(in); ok {
			t.Errorf("Lookup(%q) found %q; want not found", in, e.Name)
		}
	}
	if e, _ := Lookup("--compilation-config"); e.Kind != JSON || !slices.Contains(e.Subkeys, "cudagraph_mode") {
		t.Errorf("--compilation-config: kind %v subkeys %v; want JSON with cudagraph_mode", e.Kind, e.Subkeys)
	}
	if e, _ := Lookup("--enable-log-requests"); e.Kind != Bool || !e.Negatable {
		t.Errorf("--enable-log-requests: kind %v negatable %v; want a negatable Bool", e.Kind, e.Negatable)
	}
}

func TestAt(t *testing.T) {
	for _, c := range []struct {
		flag string
		at   Version
		pin  Pin
		want Availability
	}{
		// Named in the reasoning-outputs Quickstart through 0.8.3; only --reasoning-parser from 0.10.0.
		{"--enable-reasoning", v(0, 8, 3), Pinned, Available},
		{"--enable-reasoning", v(0, 10, 0), Pinned, RemovedAt},
		{"--enable-reasoning", v(0, 11, 0), Pinned, RemovedAt},
		{"--enable-reasoning", Version{}, Unpinned, RemovedAt},
		// Deprecated on the 0.10.1.1 API page and marked [DEPRECATED] on 0.12.0's serve page.
		{"--disable-log-requests", v(0, 9, 0), Pinned, Available},
		{"--disable-log-requests", v(0, 10, 1), Pinned, DeprecatedAt},
		{"--disable-log-requests", v(0, 12, 0), Pinned, DeprecatedAt},
		// Listed in 0.6.6's synopsis, skipped by 0.8.1's.
		{"--quantization-param-path", v(0, 6, 6), Pinned, Available},
		{"--quantization-param-path", v(0, 8, 5), Pinned, RemovedAt},
		// Deprecated no-op in 0.10.1, gone from the whole EngineArgs section in 0.10.2.
		{"--enable-prompt-adapter", v(0, 10, 1), Pinned, DeprecatedAt},
		{"--enable-prompt-adapter", v(0, 10, 2), Pinned, RemovedAt},
		// --grpc: only on 0.30.0+ pages; 0.18.0's list has no room for it.
		{"--grpc", v(0, 18, 0), Pinned, NotYetAdded},
		{"--grpc", v(0, 12, 0), Pinned, NotYetAdded},
		{"--grpc", v(0, 30, 0), Pinned, Available},
		{"--grpc", v(0, 33, 0), Pinned, Available},
		{"--grpc", v(0, 12, 0), Unpinned, Available}, // judged at Newest()
		{"--grpc", v(9, 0, 0), Pinned, Available},    // newer than the table: judged at Newest()
		// --aggregate-engine-logging: missing from 0.11.0's whole EngineArgs section, on 0.12.0's.
		{"--aggregate-engine-logging", v(0, 11, 0), Pinned, NotYetAdded},
		{"--aggregate-engine-logging", v(0, 12, 0), Pinned, Available},
		// Unknown before the first page shows it: not claimed missing.
		{"--tensor-parallel-size", v(0, 4, 2), Pinned, Available},
		{"--no-such-flag", v(0, 11, 0), Pinned, Unrecorded},
	} {
		got, e := At(c.flag, c.at, c.pin)
		if got != c.want {
			t.Errorf("At(%q, %v, %v) = %v; want %v", c.flag, c.at, c.pin, got, c.want)
		}
		if got != Unrecorded && e.Name == "" {
			t.Errorf("At(%q) returned no entry", c.flag)
		}
	}
	if _, e := At("--enable-reasoning", v(0, 10, 0), Pinned); e.Removed != v(0, 10, 0) || !strings.Contains(e.Note, "--reasoning-parser") {
		t.Errorf("--enable-reasoning: Removed %v, Note %q", e.Removed, e.Note)
	}
	if e, _ := Lookup("--grpc"); e.Added != v(0, 30, 0) || e.AbsentBefore != v(0, 18, 0) {
		t.Errorf("--grpc: Added %v AbsentBefore %v; want 0.30.0 and 0.18.0", e.Added, e.AbsentBefore)
	}
}

func TestChoices(t *testing.T) {
	for _, c := range []struct {
		flag string
		at   Version
		pin  Pin
		want []string
	}{
		{"--kv-cache-dtype", v(0, 4, 2), Pinned, []string{"auto", "fp8"}},
		{"--kv-cache-dtype", v(0, 5, 0), Pinned, []string{"auto", "fp8", "fp8_e5m2", "fp8_e4m3"}},
		{"--kv-cache-dtype", v(0, 9, 2), Pinned, []string{"auto", "fp8", "fp8_e4m3", "fp8_e5m2"}},
		{"--kv-cache-dtype", v(0, 10, 0), Pinned, []string{"auto", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc"}},
		{"--kv-cache-dtype", v(0, 11, 1), Pinned, []string{"auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "fp8_ds_mla"}},
		{"--kv-cache-dtype", v(0, 13, 0), Pinned, []string{"auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "fp8_ds_mla"}},
		{"--kv-cache-dtype", Version{}, Unpinned, []string{"auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "fp8_ds_mla"}},
		{"--convert", v(0, 11, 0), Pinned, []string{"auto", "classify", "embed", "none", "reward"}},
		{"--convert", v(0, 16, 0), Pinned, []string{"auto", "classify", "embed", "none"}},
		{"--block_size", v(0, 16, 0), Pinned, []string{"1", "8", "16", "32", "64", "128", "256"}},
	} {
		got, ok := Choices(c.flag, c.at, c.pin)
		if !ok || !slices.Equal(got, c.want) {
			t.Errorf("Choices(%q, %v) = %v, %v; want %v", c.flag, c.at, got, ok, c.want)
		}
	}
	for _, c := range []struct {
		flag string
		at   Version
	}{
		{"--max-model-len", v(0, 8, 5)}, // free value
		{"--convert", v(0, 8, 5)},       // no page at or before 0.8.5 shows its list
		{"--no-such-flag", v(0, 8, 5)},
	} {
		if got, ok := Choices(c.flag, c.at, Pinned); ok {
			t.Errorf("Choices(%q, %v) = %v; want none", c.flag, c.at, got)
		}
	}
	// The returned slice is a copy.
	got, _ := Choices("--kv-cache-dtype", v(0, 4, 2), Pinned)
	got[0] = "changed"
	if again, _ := Choices("--kv-cache-dtype", v(0, 4, 2), Pinned); again[0] != "auto" {
		t.Error("Choices returned the table's own slice")
	}
}

func TestEntriesAreCanonical(t *testing.T) {
	es := Entries()
	if len(es) < 60 {
		t.Fatalf("only %d flags in the table", len(es))
	}
	for i, e := range es {
		if e.Name == "" || strings.HasPrefix(e.Name, "-") || strings.ContainsAny(e.Name, "_ =") {
			t.Errorf("non-canonical name %q", e.Name)
		}
		if i > 0 && es[i-1].Name >= e.Name {
			t.Errorf("entries not sorted at %q", e.Name)
		}
		if e.FirstSeen.IsZero() || e.LastSeen.Less(e.FirstSeen) {
			t.Errorf("%s: seen %v..%v", e.Name, e.FirstSeen, e.LastSeen)
		}
		if !e.Removed.IsZero() && !e.LastSeen.Less(e.Removed) {
			t.Errorf("%s: removed %v but seen until %v", e.Name, e.Removed, e.LastSeen)
		}
	}
}

// TestSourceTranscriptions checks facts that only the whole parsers read from vLLM's source
// (sources/0.7.2.txt and sources/0.11.1.txt, both `source:EngineArgs complete`) establish.
func TestSourceTranscriptions(t *testing.T) {
	for _, c := range []struct {
		flag string
		at   Version
		want Availability
	}{
		// In 0.11.1's parser, missing from 0.7.2's whole parser.
		{"--data-parallel-size", v(0, 7, 2), NotYetAdded},
		{"-dp", v(0, 7, 2), NotYetAdded},
		{"--data-parallel-size", v(0, 11, 1), Available},
		{"--async-scheduling", v(0, 6, 6), NotYetAdded},
		{"--async-scheduling", v(0, 11, 1), Available},
		// In 0.7.2's parser, missing from 0.11.1's.
		{"--tokenizer-pool-size", v(0, 7, 2), Available},
		{"--tokenizer-pool-size", v(0, 11, 1), RemovedAt},
		{"--speculative-model", v(0, 7, 2), Available},
		{"--speculative-model", v(0, 12, 0), RemovedAt},
		{"--num-scheduler-steps", v(0, 11, 1), RemovedAt},
		// Deprecated where the parser says so.
		{"--use-v2-block-manager", v(0, 7, 2), DeprecatedAt},
		{"--cuda-graph-sizes", v(0, 11, 1), DeprecatedAt},
		{"--guided-decoding-backend", v(0, 11, 1), DeprecatedAt},
		// In both parsers.
		{"--tensor-parallel-size", v(0, 7, 2), Available},
		{"--max-num-seqs", v(0, 11, 1), Available},
	} {
		got, e := At(c.flag, c.at, Pinned)
		if got != c.want {
			t.Errorf("At(%q, %v) = %v; want %v", c.flag, c.at, got, c.want)
		}
		if e.Name == "" {
			t.Errorf("At(%q) returned no entry", c.flag)
		}
	}
	if e, _ := Lookup("--tokenizer-pool-size"); e.Removed != v(0, 11, 1) || !strings.Contains(e.Note, "source:EngineArgs") {
		t.Errorf("--tokenizer-pool-size: Removed %v, Note %q; want 0.11.1 and the section named", e.Removed, e.Note)
	}
	if e, _ := Lookup("--tensor-parallel-size"); !slices.Equal(e.Aliases, []string{"-tp"}) || e.Kind != Value {
		t.Errorf("--tensor-parallel-size: aliases %v kind %v; want [-tp] and Value", e.Aliases, e.Kind)
	}
	if e, _ := Lookup("--enable-chunked-prefill"); e.Kind != Bool || !e.Negatable {
		t.Errorf("--enable-chunked-prefill: kind %v negatable %v; want the negatable Bool 0.11.1 declares", e.Kind, e.Negatable)
	}
	if e, _ := Lookup("--max-lora-rank"); e.Default != "16" {
		t.Errorf("--max-lora-rank default %q; want 16", e.Default)
	}
	for _, c := range []struct {
		flag string
		at   Version
		want []string
	}{
		{"--guided-decoding-backend", v(0, 7, 2), []string{"outlines", "lm-format-enforcer", "xgrammar"}},
		{"--device", v(0, 7, 2), []string{"auto", "cuda", "neuron", "cpu", "openvino", "tpu", "xpu", "hpu"}},
		{"--scheduling-policy", v(0, 7, 2), []string{"fcfs", "priority"}},
	} {
		if got, ok := Choices(c.flag, c.at, Pinned); !ok || !slices.Equal(got, c.want) {
			t.Errorf("Choices(%q, %v) = %v, %v; want %v", c.flag, c.at, got, ok, c.want)
		}
	}
	// The OpenAI server's own flags, from 0.9.1's make_arg_parser (presence only: not complete).
	for _, c := range []struct{ flag, deflt string }{
		{"--enable-auto-tool-choice", "False"}, // the default 0.33.0's FrontendArgs states
		{"--tool-call-parser", ""},
		{"--api-key", ""},
		{"--port", "8000"},
		{"--response-role", "assistant"},
		{"--h11-max-header-count", "256"},
	} {
		got, e := At(c.flag, v(0, 9, 1), Pinned)
		if got != Available || e.Default != c.deflt || e.FirstSeen.IsZero() || v(0, 9, 1).Less(e.FirstSeen) {
			t.Errorf("At(%q, 0.9.1) = %v, default %q, first seen %v; want available, default %q, seen by 0.9.1", c.flag, got, e.Default, e.FirstSeen, c.deflt)
		}
	}
	if got, _ := At("--enable-auto-tool-choice", v(0, 4, 2), Pinned); got != Available {
		t.Errorf("--enable-auto-tool-choice at 0.4.2 = %v; no complete section covers it, so it must stay available", got)
	}
	if e, _ := Lookup("--swap-space"); e.Default != "4" {
		t.Errorf("--swap-space default %q; want 4 (0.7.2's parser)", e.Default)
	}
	n := 0
	for _, e := range Entries() {
		if !e.FirstSeen.IsZero() {
			n++
		}
	}
	if n < 180 {
		t.Errorf("%d flags in the table; with the two source transcriptions it holds over 180", n)
	}
}

// TestNewerFlagsAndParsers pins the flags and reasoning parsers of recent releases that public
// compose files use, each known from the release a source proves and not before.
func TestNewerFlagsAndParsers(t *testing.T) {
	for _, c := range []struct {
		flag string
		at   Version
		want Availability
	}{
		// PR #31343 was still in review after v0.13.0 was published; issue #39279 ran it on 0.19.0.
		{"--default-chat-template-kwargs", v(0, 12, 0), NotYetAdded},
		{"--default-chat-template-kwargs", v(0, 13, 0), NotYetAdded},
		{"--default-chat-template-kwargs", v(0, 14, 0), Available}, // not known either way: not claimed missing
		{"--default-chat-template-kwargs", v(0, 19, 0), Available},
		{"--default-chat-template-kwargs", v(0, 27, 1), Available},
		// Missing from 0.11.1's whole parser; MambaCacheMode on 0.16.0's cache config page.
		{"--mamba-cache-mode", v(0, 10, 1), NotYetAdded},
		{"--mamba-cache-mode", v(0, 11, 1), NotYetAdded},
		{"--mamba-cache-mode", v(0, 16, 0), Available},
		{"--mamba-cache-mode=align", v(0, 27, 1), Available},
		// vLLM's MambaConfig flags (also SGLang's names), from 0.23.0.
		{"--mamba-backend", v(0, 23, 0), Available},
		{"--enable-mamba-cache-stochastic-rounding", v(0, 27, 1), Available},
		{"--mamba-cache-philox-rounds", v(0, 27, 1), Available},
		// FrontendArgs fields no engine-args page shows (cli_args.py, filed under 0.33.0).
		{"--fingerprint-mode", v(0, 33, 0), Available},
		{"--enable-log-deltas", v(0, 33, 0), Available},
		{"--data-parallel-supervisor-port", v(0, 33, 0), Available},
	} {
		if got, _ := At(c.flag, c.at, Pinned); got != c.want {
			t.Errorf("At(%q, %v) = %v; want %v", c.flag, c.at, got, c.want)
		}
	}
	for _, c := range []struct {
		flag              string
		first, absentTill Version
	}{
		{"--default-chat-template-kwargs", v(0, 19, 0), v(0, 13, 0)},
		{"--mamba-cache-mode", v(0, 16, 0), v(0, 11, 1)},
		{"--mamba-backend", v(0, 23, 0), Version{}},
	} {
		if e, ok := Lookup(c.flag); !ok || e.FirstSeen != c.first || e.AbsentBefore != c.absentTill {
			t.Errorf("%s: found %v, first seen %v, absent through %v; want %v and %v", c.flag, ok, e.FirstSeen, e.AbsentBefore, c.first, c.absentTill)
		}
	}
	if e, _ := Lookup("--default-chat-template-kwargs"); e.Kind != JSON {
		t.Errorf("--default-chat-template-kwargs kind %v; want JSON", e.Kind)
	}
	if e, _ := Lookup("--no-enable-mamba-cache-stochastic-rounding"); e.Name != "enable-mamba-cache-stochastic-rounding" || !e.Negatable {
		t.Errorf("--no-enable-mamba-cache-stochastic-rounding: %+v; want the negatable flag", e)
	}
	if got, ok := Choices("--mamba-cache-mode", v(0, 27, 1), Pinned); !ok || !slices.Equal(got, []string{"all", "align", "none"}) {
		t.Errorf("Choices(--mamba-cache-mode, 0.27.1) = %v, %v", got, ok)
	}
	// Reasoning parser names by the release that shows them.
	for _, c := range []struct {
		name string
		at   Version
		pin  Pin
		want bool
	}{
		{"nemotron_v3", v(0, 19, 0), Pinned, false},
		{"nemotron_v3", v(0, 20, 2), Pinned, true},
		{"nemotron_v3", v(0, 27, 1), Pinned, true},
		{"nemotron_v3", Version{}, Unpinned, true}, // judged at Newest()
		{"gemma4", v(0, 18, 0), Pinned, false},
		{"gemma4", v(0, 19, 0), Pinned, true},
		{"kimi_k2", v(0, 11, 1), Pinned, false},
		{"kimi_k2", v(0, 12, 0), Pinned, true},
		{"minimax_m2", v(0, 12, 0), Pinned, true},
		{"step3p5", v(0, 15, 1), Pinned, true},
		{"hy_v3", v(0, 22, 1), Pinned, true},
		{"holo2", v(0, 26, 0), Pinned, true},
		{"holo2", v(0, 25, 0), Pinned, false},
		{"qwen3", v(0, 33, 0), Pinned, true},
		{"nemotron-v3", v(0, 33, 0), Pinned, false},
	} {
		list, ok := Choices("--reasoning-parser", c.at, c.pin)
		if got := ok && slices.Contains(list, c.name); got != c.want {
			t.Errorf("reasoning parser %q at %v (%v): listed %v; want %v", c.name, c.at, c.pin, got, c.want)
		}
	}
}

package vllm

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, is deterministic, and the canonical command
// line it prints parses back to the same flags and values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"--model Qwen/Qwen3-8B --max_model_len=8192 --enforce-eager",
		"vllm serve m --served-model-name a b --api-key",
		"--rope-scaling {\"rope_type\":\"yarn\",\"factor\":4.0} --port -1",
		"python3 -m vllm.entrypoints.openai.api_server --model x -tp 2",
		"--no-enable-prefix-caching --unknown v1 v2 stray",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := strings.Split(s, " ")
		a := Parse(argv)
		b := Parse(argv)
		if !reflect.DeepEqual(a, b) {
			t.Fatal("not deterministic")
		}
		canon := a.Canonical()
		c := Parse(canon)
		if len(c.List) != len(a.List) {
			t.Fatalf("round trip changed the flags: %q -> %q", argv, canon)
		}
		for i := range a.List {
			if a.List[i].Name != c.List[i].Name || !reflect.DeepEqual(nilIfEmpty(a.List[i].Values), nilIfEmpty(c.List[i].Values)) {
				t.Fatalf("round trip changed %+v into %+v", a.List[i], c.List[i])
			}
		}
	})
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

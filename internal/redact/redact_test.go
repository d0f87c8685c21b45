package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestString(t *testing.T) {
	r := New("sk-abcdef123456", "hf_tokenvalue", "abc") // "abc" too short to mask
	got := r.String("key sk-abcdef123456 and hf_tokenvalue; abc stays")
	want := "key *** and ***; abc stays"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	var zero *Redactor
	if zero.String("x") != "x" {
		t.Fatal("nil redactor changed text")
	}
	var empty Redactor
	if empty.String("sk-abcdef123456") != "sk-abcdef123456" || empty.Len() != 0 {
		t.Fatal("zero redactor changed text")
	}
}

func TestLongestFirst(t *testing.T) {
	r := New("secret", "secret-longer")
	if got := r.String("secret-longer secret"); got != "*** ***" {
		t.Fatalf("got %q", got)
	}
}

func TestNotMasked(t *testing.T) {
	for _, v := range []string{"", "12345", "EMPTY", "dummy", "changeme", "sk-no-key-required", "xxxxxxxx", "${VLLM_API_KEY}", "      "} {
		if Maskable(v) {
			t.Errorf("%q is maskable", v)
		}
	}
	for _, v := range []string{"123456", "demo-mini-key-0002", "hf_abcdefghijkl"} {
		if !Maskable(v) {
			t.Errorf("%q is not maskable", v)
		}
	}
	r := New("EMPTY", "changeme", "8000")
	if r.Len() != 0 {
		t.Fatalf("placeholders registered: %d", r.Len())
	}
	if got := r.String("api_key=EMPTY port 8000 changeme"); got != "api_key=EMPTY port 8000 changeme" {
		t.Fatalf("got %q", got)
	}
}

// TestEncodings: a key with characters that JSON, Go quoting, the shell, URLs
// and Compose escape is masked in each of those forms.
func TestEncodings(t *testing.T) {
	key := `k&<y>"q'u$te\0123`
	r := New(key)
	b, _ := json.Marshal(map[string]string{"key": key})
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(key)
	for _, form := range []string{
		key,
		string(b),
		sb.String(),
		fmt.Sprintf("%q", key),
		"'" + strings.ReplaceAll(key, "'", `'\''`) + "'",
		"https://x/?k=" + url.QueryEscape(key),
		"https://x/" + url.PathEscape(key) + "/v1",
		strings.ReplaceAll(key, "$", "$$"),
	} {
		got := r.String(form)
		if strings.Contains(got, "0123") || !strings.Contains(got, Mask) {
			t.Errorf("%s -> %s: not masked", form, got)
		}
	}
	if r.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (encodings are not counted)", r.Len())
	}
}

func TestRefs(t *testing.T) {
	r := New()
	r.AddNamed("VLLM_API_KEY_MINI", "demo-mini-key-0002")
	r.Add("literal-secret-xyz")
	got := string(r.Refs([]byte(`command: ["--api-key=demo-mini-key-0002", "--x=literal-secret-xyz", "p$$demo-mini-key-0002"]`)))
	want := `command: ["--api-key=${VLLM_API_KEY_MINI}", "--x=***", "p$$${VLLM_API_KEY_MINI}"]`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := r.String("demo-mini-key-0002"); got != Mask {
		t.Fatalf("String of a named secret: %q", got)
	}
	// a named secret with a $: its Compose-escaped form is a reference too
	r.AddNamed("HF_TOKEN", "hf_ab$cdefgh")
	if got := string(r.Refs([]byte("HF_TOKEN: hf_ab$$cdefgh"))); got != "HF_TOKEN: ${HF_TOKEN}" {
		t.Fatalf("got %q", got)
	}
}

func TestMerge(t *testing.T) {
	a := New()
	a.AddNamed("KEY_A", "value-of-key-a")
	b := New("value-of-key-b")
	b.Merge(a)
	if b.Len() != 2 || b.String("value-of-key-a value-of-key-b") != "*** ***" {
		t.Fatalf("merge: %d %q", b.Len(), b.String("value-of-key-a value-of-key-b"))
	}
	if got := string(b.Refs([]byte("value-of-key-a"))); got != "${KEY_A}" {
		t.Fatalf("merge lost the name: %q", got)
	}
}

// TestWriterSplit writes a stream cut at every pair of points and byte by
// byte: no secret reaches the output, each is replaced by exactly one Mask,
// and the rest of the text is intact.
func TestWriterSplit(t *testing.T) {
	secrets := []string{"CANARY-key-0123456789", "CANARY-key-0123", "hf_tokenCANARY99"}
	r := New(secrets...)
	text := "a=CANARY-key-0123456789\nb=CANARY-key-0123 c=hf_tokenCANARY99" +
		"CANARY-key-012 end CANARY-key-0123456789"
	want := "a=***\nb=*** c=***CANARY-key-012 end ***"
	if got := r.String(text); got != want {
		t.Fatalf("String: %q", got)
	}
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			var out bytes.Buffer
			w := NewWriter(&out, r)
			for _, part := range []string{text[:i], text[i:j], text[j:]} {
				n, err := w.Write([]byte(part))
				if err != nil || n != len(part) {
					t.Fatalf("write %q: %d %v", part, n, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Fatalf("split at %d,%d: %q", i, j, out.String())
			}
		}
	}
	var out bytes.Buffer
	w := NewWriter(&out, r)
	for i := range len(text) {
		_, _ = w.Write([]byte{text[i]})
	}
	_ = w.Flush()
	if out.String() != want {
		t.Fatalf("byte by byte: %q", out.String())
	}
}

// TestWriterHoldsOnlyPrefixes: text that cannot begin a secret goes through at
// once (prompts and progress lines are not delayed); a tail that could is held
// until the next Write or Flush.
func TestWriterHoldsOnlyPrefixes(t *testing.T) {
	r := New("CANARY-key-0123456789")
	var out bytes.Buffer
	w := NewWriter(&out, r)
	_, _ = w.Write([]byte("Continue? [y/N] "))
	if out.String() != "Continue? [y/N] " {
		t.Fatalf("held: %q", out.String())
	}
	_, _ = w.Write([]byte("key CANARY-k"))
	if out.String() != "Continue? [y/N] key " {
		t.Fatalf("prefix not held: %q", out.String())
	}
	_, _ = w.Write([]byte("nope"))
	if out.String() != "Continue? [y/N] key CANARY-knope" {
		t.Fatalf("released wrong: %q", out.String())
	}
	_, _ = w.Write([]byte(" CANARY"))
	_ = w.Flush()
	if out.String() != "Continue? [y/N] key CANARY-knope CANARY" {
		t.Fatalf("flush: %q", out.String())
	}
	// no secrets: a pass-through
	out.Reset()
	w = NewWriter(&out, New())
	_, _ = w.Write([]byte("CANARY-key-0123456789"))
	if out.String() != "CANARY-key-0123456789" {
		t.Fatalf("empty redactor: %q", out.String())
	}
}

// TestWriterLearns: a secret added after the writer was made is masked from
// then on, also while other goroutines write (run with -race).
func TestWriterLearns(t *testing.T) {
	r := New()
	var out safeBuffer
	w := NewWriter(&out, r)
	r.AddNamed("KEY", "CANARY-late-0123456789")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				r.Add(fmt.Sprintf("other-secret-%02d-%03d", g, i))
				fmt.Fprintf(w, "line %d CANARY-late-0123456789 other-secret-%02d-%03d\n", i, g, i)
			}
		}()
	}
	wg.Wait()
	_ = w.Flush()
	s := out.String()
	if strings.Contains(s, "CANARY-late") || strings.Contains(s, "other-secret") {
		t.Fatalf("leaked:\n%s", s)
	}
	if got := strings.Count(s, "line "); got != 400 {
		t.Fatalf("%d lines, want 400", got)
	}
	if got := strings.Count(s, Mask); got != 800 {
		t.Fatalf("%d masks, want 800", got)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func FuzzWriter(f *testing.F) {
	f.Add("pre CANARY-key-0123456789 post", 3, 11)
	f.Fuzz(func(t *testing.T, text string, i, j int) {
		r := New("CANARY-key-0123456789", "CANARY-key-0123", "key-0123456789-x")
		i, j = clamp(i, len(text)), clamp(j, len(text))
		if i > j {
			i, j = j, i
		}
		var out bytes.Buffer
		w := NewWriter(&out, r)
		_, _ = w.Write([]byte(text[:i]))
		_, _ = w.Write([]byte(text[i:j]))
		_, _ = w.Write([]byte(text[j:]))
		_ = w.Flush()
		if want := r.String(text); out.String() != want {
			t.Fatalf("writer %q != String %q", out.String(), want)
		}
	})
}

func clamp(i, n int) int {
	if i < 0 {
		i = -i
	}
	if n == 0 {
		return 0
	}
	return i % (n + 1)
}

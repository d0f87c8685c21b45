package redact

import "testing"

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
}

func TestLongestFirst(t *testing.T) {
	r := New("secret", "secret-longer")
	if got := r.String("secret-longer"); got != "***" {
		t.Fatalf("got %q", got)
	}
}

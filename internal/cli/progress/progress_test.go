package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func events() []monitor.Event {
	return []monitor.Event{
		{Time: t0, Profile: "mini", Kind: "phase", Phase: vllm.PhaseLoading, Message: "Starting to load model"},
		{Time: t0.Add(time.Second), Profile: "mini", Kind: "warning", Message: "a warning"},
		{Time: t0.Add(2 * time.Second), Profile: "mini", Kind: "phase", Phase: vllm.PhaseKVCache, Message: "GPU KV cache size: 1,024 tokens"},
		{Time: t0.Add(3 * time.Second), Profile: "mini", Kind: "ready", Message: "ready"},
	}
}

func TestModes(t *testing.T) {
	var plain, js, tty bytes.Buffer
	for _, c := range []struct {
		mode string
		buf  *bytes.Buffer
	}{{"plain", &plain}, {"json", &js}, {"tty", &tty}} {
		r, err := New(c.mode, c.buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events() {
			r.Event(e)
		}
		r.Close()
	}
	if !strings.Contains(plain.String(), "mini     kv-cache   GPU KV cache size: 1,024 tokens") {
		t.Errorf("plain:\n%s", plain.String())
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	var e monitor.Event
	if len(lines) != 4 || json.Unmarshal([]byte(lines[2]), &e) != nil || e.Phase != vllm.PhaseKVCache {
		t.Errorf("json:\n%s", js.String())
	}
	out := tty.String()
	for _, want := range []string{"✔ mini loading", "! mini a warning", "✔ mini kv-cache", "\r\033[K"} {
		if !strings.Contains(out, want) {
			t.Errorf("tty lacks %q:\n%q", want, out)
		}
	}
	if _, err := New("fancy", &plain); err == nil {
		t.Error("unknown mode accepted")
	}
}

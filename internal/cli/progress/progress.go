// Package progress renders deploy events three ways: on a TTY one live line
// per phase (the current one animated, with elapsed time), plain lines for CI
// and logs, or one JSON object per line with stable field names.
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vllmctl/vllmctl/internal/monitor"
)

// Renderer consumes events.
type Renderer interface {
	Event(monitor.Event)
	Close()
}

// New picks a renderer: mode is auto, tty, plain or json.
func New(mode string, w io.Writer) (Renderer, error) {
	switch mode {
	case "auto", "":
		// A masking writer (internal/redact) wraps the terminal: look through it.
		term := w
		for {
			u, ok := term.(interface{ Unwrap() io.Writer })
			if !ok {
				break
			}
			term = u.Unwrap()
		}
		if f, ok := term.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return newTTY(w), nil
			}
		}
		return &plain{w: w, start: time.Now()}, nil
	case "tty":
		return newTTY(w), nil
	case "plain":
		return &plain{w: w, start: time.Now()}, nil
	case "json":
		return &jsonl{enc: json.NewEncoder(w)}, nil
	}
	return nil, fmt.Errorf("unknown progress mode %q (auto, tty, plain, json)", mode)
}

type plain struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *plain) Event(e monitor.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := e.Kind
	if e.Kind == "phase" {
		label = string(e.Phase)
	}
	fmt.Fprintf(p.w, "[%6.1fs] %-8s %-10s %s\n", e.Time.Sub(p.start).Seconds(), e.Profile, label, e.Message)
}

func (p *plain) Close() {}

type jsonl struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (j *jsonl) Event(e monitor.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(e)
}

func (j *jsonl) Close() {}

// tty keeps one line per phase; the last is redrawn with a spinner.
type tty struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	current string
	since   time.Time
	done    chan struct{}
	frame   int
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newTTY(w io.Writer) *tty {
	t := &tty{w: w, start: time.Now(), since: time.Now(), done: make(chan struct{})}
	go func() {
		tick := time.NewTicker(120 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-t.done:
				return
			case <-tick.C:
				t.mu.Lock()
				t.frame++
				t.redraw()
				t.mu.Unlock()
			}
		}
	}()
	return t
}

func (t *tty) redraw() {
	if t.current == "" {
		return
	}
	fmt.Fprintf(t.w, "\r\033[K%s %s (%.1fs)", spinner[t.frame%len(spinner)], t.current, time.Since(t.since).Seconds())
}

func (t *tty) Event(e monitor.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mark := map[string]string{"ready": "✔", "failed": "✘", "timeout": "✘", "fatal": "✘", "warning": "!"}[e.Kind]
	if e.Kind == "phase" || e.Kind == "apply" || e.Kind == "container" || e.Kind == "rollback" {
		if t.current != "" {
			fmt.Fprintf(t.w, "\r\033[K✔ %s (%.1fs)\n", t.current, time.Since(t.since).Seconds())
		}
		label := e.Kind
		if e.Kind == "phase" {
			label = string(e.Phase)
		}
		t.current, t.since = fmt.Sprintf("%s %-10s %s", e.Profile, label, truncate(e.Message, 90)), e.Time
		t.redraw()
		return
	}
	if mark == "" {
		return
	}
	if t.current != "" && (e.Kind == "ready" || e.Kind == "failed" || e.Kind == "timeout") {
		fmt.Fprintf(t.w, "\r\033[K%s %s (%.1fs)\n", mark, t.current, time.Since(t.since).Seconds())
		t.current = ""
	} else {
		fmt.Fprint(t.w, "\r\033[K")
	}
	fmt.Fprintf(t.w, "%s %s %s\n", mark, e.Profile, truncate(e.Message, 160))
	t.redraw()
}

func (t *tty) Close() {
	close(t.done)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current != "" {
		fmt.Fprintf(t.w, "\r\033[K")
	}
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

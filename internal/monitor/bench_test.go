package monitor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/sim"
)

// stampWriter timestamps the moment a line containing mark is written.
type stampWriter struct {
	w    io.Writer
	mark string
	mu   sync.Mutex
	at   time.Time
}

func (s *stampWriter) Write(p []byte) (int, error) {
	if s.mark != "" && strings.Contains(string(p), s.mark) {
		s.mu.Lock()
		if s.at.IsZero() {
			s.at = time.Now()
		}
		s.mu.Unlock()
	}
	return s.w.Write(p)
}

// runSim starts vllm-sim in-process with fixed phase times; its log goes
// through a pipe into Watch, as a container log stream would.
func runSim(b *testing.B, mark string, extra ...string) (time.Time, Result, time.Time) {
	port := freeport.T(b)
	pr, pw := io.Pipe()
	sw := &stampWriter{w: pw, mark: mark}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := append([]string{"--model", "m-1B", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--disable-uvicorn-access-log",
		"--sim-phase-time=100ms", "--sim-load-time=300ms", "--sim-compile-time=100ms", "--sim-graph-time=100ms"}, extra...)
	done := make(chan struct{})
	go func() { sim.Main(ctx, args, map[string]string{}, sw, io.Discard); pw.Close(); close(done) }()
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var fatalAt time.Time
	res := Watch(ctx, lines, nil, &HTTPProber{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port)}, Options{Completion: true,
		OnEvent: func(e Event) {
			if e.Kind == "fatal" && fatalAt.IsZero() {
				fatalAt = time.Now()
			}
		}})
	cancel()
	<-done
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.at, res, fatalAt
}

// BenchmarkReadinessLatency: from the engine's "Application startup
// complete." to Watch declaring ready (health, models and a completion answered).
func BenchmarkReadinessLatency(b *testing.B) {
	var worst time.Duration
	for b.Loop() {
		written, res, _ := runSim(b, "Application startup complete.")
		if res.Outcome != Ready {
			b.Fatalf("outcome %s", res.Outcome)
		}
		worst = max(worst, res.ReadyAt.Sub(written))
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms-to-ready")
}

// BenchmarkFatalLatency: from the first fatal line being written to the fatal event.
func BenchmarkFatalLatency(b *testing.B) {
	var worst time.Duration
	for b.Loop() {
		written, res, fatalAt := runSim(b, "EngineCore failed to start.", "--sim-fail-at", "profiling")
		if res.Outcome != Failed || fatalAt.IsZero() {
			b.Fatalf("outcome %s", res.Outcome)
		}
		worst = max(worst, fatalAt.Sub(written))
	}
	b.ReportMetric(float64(worst.Nanoseconds())/1e6, "worst-ms-to-fatal")
}

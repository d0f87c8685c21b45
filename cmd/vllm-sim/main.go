// Command vllm-sim simulates a vLLM engine from vLLM's own command line: startup
// log, readiness, OpenAI API, metrics and fault injection (see internal/sim).
package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vllmctl/vllmctl/internal/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	code := sim.Main(ctx, os.Args[1:], env, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

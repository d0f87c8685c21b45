// Command vllmctl checks, plans and runs vLLM services defined as docker compose profiles.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/vllmctl/vllmctl/internal/cli"
)

func main() {
	cli.Self, _ = os.Executable()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

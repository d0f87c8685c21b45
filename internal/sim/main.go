package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

const usageText = `vllm-sim: a vLLM engine simulator.

Usage: vllm-sim [vllm serve [MODEL]] [vLLM flags...] [--sim-* flags...]

It takes vLLM's own command line (the compose command: of a vllm/vllm-openai
service), prints vLLM's startup log, keeps its port closed until "ready", then
serves /health, /v1/models, /v1/chat/completions, /v1/completions and /metrics.
A config that would not fit the simulated GPU fails with vLLM's error text.

Simulator flags:
`

// Main runs the simulator and returns the process exit status.
func Main(ctx context.Context, args []string, environ map[string]string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "probe" { // healthcheck helper for the scratch image
		resp, err := http.Get(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 1
		}
		return 0
	}
	for _, a := range args {
		if a == "--sim-help" || a == "-h" || a == "--help" {
			fmt.Fprint(stdout, usageText)
			PrintFlags(stdout)
			return 0
		}
	}
	if extra := strings.Fields(environ["VLLM_SIM_ARGS"]); len(extra) > 0 {
		args = append(append([]string(nil), args...), extra...) // faults set from a compose environment: block
	}
	opts, vargs, err := SplitArgs(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "vllm-sim:", err)
		return 2
	}
	e := NewEngine(opts, vargs, environ, stdout)
	if err := e.Start(ctx); err != nil {
		var se *StartupError
		if errors.As(err, &se) {
			return se.Code
		}
		return 0 // interrupted while starting
	}
	s := NewServer(e)
	if opts.AdminAddr != "" {
		go func() {
			mux := http.NewServeMux()
			h := s.Handler()
			mux.Handle("/sim/", h)
			srv := &http.Server{Addr: opts.AdminAddr, Handler: mux}
			go func() { <-ctx.Done(); _ = srv.Close() }()
			_ = srv.ListenAndServe()
		}()
	}
	host := e.args.Host
	if host == "" {
		host = "0.0.0.0"
	}
	addr := net.JoinHostPort(host, strconv.Itoa(e.args.Port))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var died atomic.Bool // set by the watcher goroutine, read after Serve returns
	go func() {
		select {
		case <-s.Died():
			died.Store(true)
			cancel()
		case <-sctx.Done():
		}
	}()
	err = s.Serve(sctx, addr, func(a net.Addr) {
		e.logf("APIServer", "INFO", "api_server.py:1880", "Starting vLLM API server 0 on http://%s", displayAddr(host, a))
		e.logf("APIServer", "INFO", "launcher.py:29", "Available routes are:")
		for _, r := range []string{"/openapi.json, Methods: GET, HEAD", "/docs, Methods: GET, HEAD", "/health, Methods: GET", "/load, Methods: GET",
			"/ping, Methods: POST", "/ping, Methods: GET", "/version, Methods: GET", "/v1/models, Methods: GET",
			"/v1/chat/completions, Methods: POST", "/v1/completions, Methods: POST", "/metrics, Methods: GET"} {
			e.logf("APIServer", "INFO", "launcher.py:37", "Route: %s", r)
		}
		e.raw("APIServer", fmt.Sprintf("INFO:     Started server process [%d]", e.apiPID))
		e.raw("APIServer", "INFO:     Waiting for application startup.")
		e.raw("APIServer", "INFO:     Application startup complete.")
	})
	if err != nil {
		fmt.Fprintln(stderr, "vllm-sim:", err)
		return 1
	}
	if died.Load() {
		return 1
	}
	return 0
}

func displayAddr(host string, a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

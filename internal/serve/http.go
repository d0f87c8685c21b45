package serve

import (
	"context"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vllmctl/vllmctl/internal/gateway"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	// Keys are the gateway's client keys (Keys); none leaves the gateway open.
	Keys []gateway.Key
	// Registry is served on GET /metrics. Default: no /metrics.
	Registry *prometheus.Registry
	// Refresh is how often routes and readiness are refreshed. Default: 2s.
	Refresh time.Duration
	// NoWatchdog routes only: engines are neither probed nor restarted.
	NoWatchdog bool
	// Serving is called once everything is started, just before requests
	// are accepted, with the address and the routed model names (sorted).
	Serving func(addr net.Addr, models []string)
}

// DrainTimeout bounds how long Serve waits, once ctx ends, for requests in
// flight (streams included) to finish.
const DrainTimeout = 35 * time.Second

// Serve runs the daemon on ln until ctx ends: the gateway on "/", the
// metrics on "GET /metrics", the handlers added with Handle, a refresh every
// o.Refresh and the watchdog. When ctx ends it drains the requests in flight
// (DrainTimeout) and returns the server's shutdown error; an error of the
// listener returns at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	g := gateway.New(&s.routes, gateway.Options{Keys: o.Keys, Logger: s.log, Observer: s.gatewayObserver(), Starter: s})
	s.mux.Handle("/", g.Handler())
	if o.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{Registry: o.Registry}))
	}
	if len(o.Keys) == 0 && !isLoopback(ln.Addr()) {
		s.log.Warn("no gateway key in .env: the gateway is open to the network", "listen", ln.Addr().String())
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 30 * time.Second}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	every := o.Refresh
	if every <= 0 {
		every = 2 * time.Second
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				s.Refresh(lctx)
			}
		}
	}()
	if !o.NoWatchdog {
		go s.NewWatchdog().Run(lctx)
	}
	s.log.Info("serving", "listen", ln.Addr().String(), "profiles", len(s.Project().Profiles), "keys", len(o.Keys))
	if o.Serving != nil {
		o.Serving(ln.Addr(), s.Models())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("draining")
	dctx, dcancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer dcancel()
	if err := g.Drain(dctx); err != nil {
		s.log.Warn("drain", "err", err)
	}
	return srv.Shutdown(dctx)
}

// gatewayObserver is the metrics as the gateway's observer; nil (the
// gateway's own no-op) without metrics.
func (s *Server) gatewayObserver() gateway.Observer {
	if s.o.Metrics == nil {
		return nil
	}
	return s.o.Metrics
}

// Models are the model names of the published route table, sorted.
func (s *Server) Models() []string {
	return slices.Sorted(maps.Keys(s.routes.Table()))
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

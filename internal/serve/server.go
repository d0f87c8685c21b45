package serve

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/metrics"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/watchdog"
)

// Options configure a Server. Project and Runtimes are required; every
// other field may be left zero.
type Options struct {
	// Root and Environ are where Refresh reloads the project from
	// (project.Options of the same names).
	Root    string
	Environ map[string]string
	// Images reads local images for engines that name no release
	// (project.Options.Images); nil: none.
	Images project.ImageReader
	// Project is the project as loaded at start; Refresh replaces it.
	Project *project.Project
	// Runtimes: new deploys go to Runtimes.Default; deployed profiles are
	// found where their record says.
	Runtimes *deploy.Runtimes
	// Logger receives the daemon's events. Default: discard.
	Logger *slog.Logger
	// Metrics records readiness, requests and watchdog transitions.
	// Default: none recorded.
	Metrics *metrics.Metrics
	// Learn is called with every project a refresh loads, so the caller can
	// mask secrets added to .env while serve runs. Default: nothing.
	Learn func(*project.Project)
	// Redactor masks the secrets of a project in deploy records.
	// Default: nothing masked.
	Redactor func(*project.Project) *redact.Redactor
	// Inventory is the GPUs a new deploy plans for (a restart without a
	// record, an on-demand start). Default: none (planning is skipped).
	Inventory func(*project.Project) []gpu.GPU
	// Simulate and SimBinary deploy new engines on vllm-sim (deploy.UpOptions).
	Simulate  bool
	SimBinary string
	// Version is vllmctl's version, written in deploy records.
	Version string
	// Recover finishes work a killed vllmctl left unfinished (a promotion
	// stopped between the live profile and its candidate, so that neither
	// runs), before each refresh lists the engines; it returns a line per
	// thing finished, logged. Work whose vllmctl still runs is left alone.
	// Default: nothing.
	Recover func(context.Context, *project.Project) ([]string, error)
	// Remotes returns the profiles deployed elsewhere than on the runtimes
	// (on a Kubernetes cluster), each with a local address that reaches its
	// engine (a port-forward the caller keeps open). Asked at each refresh;
	// a profile that also runs on a runtime is routed there. Default: none.
	Remotes func(context.Context, *project.Project) map[string]Remote
}

// Remote is a profile's engine reached through a local address kept open
// by the caller (a port-forward to a pod).
type Remote struct {
	BaseURL string // http://127.0.0.1:PORT
	Where   string // shown in the route table: "kubernetes <context> <namespace>/<deployment>:<port>"
	// Reason is why it cannot be reached now ("" when it can): it is routed,
	// not ready, with this reason.
	Reason string
}

// Server is the serve daemon. Create it with New; its methods are safe for
// concurrent use.
type Server struct {
	o   Options
	log *slog.Logger
	// routes is what the gateway reads: each refresh builds a new table of
	// new Upstreams and swaps it in whole; a published table is never changed.
	routes    gateway.Snapshot
	refreshMu sync.Mutex // one refresh at a time, so an older view never lands last
	starting  sync.Mutex // one on-demand start at a time
	mux       *http.ServeMux

	mu          sync.Mutex
	p           *project.Project
	insts       map[string]runtime.Instance
	phases      map[string]int
	phaseAt     map[string]time.Time
	wd          *watchdog.Watchdog
	transitions []watchdog.Transition // the last maxTransitions, oldest first
}

// maxTransitions is how many watchdog transitions Snapshot keeps.
const maxTransitions = 100

// New returns a Server over o. It does not probe anything: call Refresh.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{o: o, log: log, p: o.Project, mux: http.NewServeMux(),
		phases: map[string]int{}, phaseAt: map[string]time.Time{}}
}

// Project is the project as last loaded.
func (s *Server) Project() *project.Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p
}

// Routes is the route table the gateway reads, swapped whole by Refresh.
func (s *Server) Routes() *gateway.Snapshot { return &s.routes }

// Handle adds a handler to the mux Serve listens with (a dashboard, an alert
// endpoint). Patterns follow net/http.ServeMux; "/" (the gateway) and
// "GET /metrics" are taken. Call it before Serve.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Logs calls w with each line of a profile's engine log since a time (a
// runtime may give more), from where its last recorded deploy runs.
func (s *Server) Logs(ctx context.Context, profile string, since time.Time, w func(string)) error {
	return deploy.NewLocated(s.Project(), s.o.Runtimes).Logs(ctx, profile, false, since, w)
}

func (s *Server) backend() runtime.Backend { return s.o.Runtimes.Default }

func (s *Server) redactor(p *project.Project) *redact.Redactor {
	if s.o.Redactor == nil {
		return nil
	}
	return s.o.Redactor(p)
}

func (s *Server) inventory(p *project.Project) []gpu.GPU {
	if s.o.Inventory == nil {
		return nil
	}
	return s.o.Inventory(p)
}

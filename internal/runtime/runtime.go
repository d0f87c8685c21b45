// Package runtime runs and observes engines: the docker backend applies a
// resolved compose file with the Compose CLI the machine has (v2 `docker
// compose` or v1 `docker-compose`) and observes containers by label through the
// Engine API; the process backend runs the engine command as a child process
// with its log in the state folder. Both satisfy Backend.
package runtime

import (
	"context"
	"io"
	"time"
)

// Labels put on every container vllmctl starts (resolve writes them; its
// constants of the same names must agree, and a deploy test checks they do).
const (
	LabelProject = "dev.vllmctl.project"
	LabelProfile = "dev.vllmctl.profile"
	LabelService = "dev.vllmctl.service"
	LabelHash    = "dev.vllmctl.config-hash"
	LabelVersion = "dev.vllmctl.version"
	LabelDeploy  = "dev.vllmctl.deploy-id"
)

// Spec is one profile to apply.
type Spec struct {
	Project     string // vllmctl project name
	Profile     string
	ComposeName string // compose project name: <project>-<profile>
	Root        string // project root (compose --project-directory)
	File        string // resolved compose file (docker backend)
	EnvFile     string // the root .env, "" when absent
	StateDir    string // absolute state folder
	Hash        string
	DeployID    string
	Services    []ProcessSpec // process backend: what to run
}

// ProcessSpec is one engine run as a child process.
type ProcessSpec struct {
	Service string
	Argv    []string
	Env     []string // KEY=VALUE, added to the environment
	Port    int      // host port it listens on
}

// State is an engine's runtime state, as docker reports a container's
// (the process runtime uses Running and Exited).
type State string

// States.
const (
	Running    State = "running"
	Exited     State = "exited"
	Restarting State = "restarting"
	Paused     State = "paused"
	Created    State = "created"
	Dead       State = "dead"
)

// Instance is one running (or stopped) engine.
type Instance struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Profile      string    `json:"profile"`
	Service      string    `json:"service"`
	Hash         string    `json:"config_hash"`
	State        State     `json:"state"`
	ExitCode     int       `json:"exit_code"`
	RestartCount int       `json:"restart_count"`
	StartedAt    time.Time `json:"started_at"`
	HostPort     int       `json:"host_port,omitempty"`
	Runtime      string    `json:"runtime"`
	// InNetwork is the engine's address inside its container network
	// (ip:containerPort), "" when there is none (process runtime): the watchdog
	// tells a lost port forward from a dead engine with it.
	InNetwork string `json:"in_network,omitempty"`
}

// Exit is an engine stopping or restarting.
type Exit struct {
	Code     int
	Restart  bool
	Restarts int
}

// Backend runs and observes engines.
type Backend interface {
	Name() string
	// Commands returns what Apply runs, for --dry-run.
	Commands(spec Spec) [][]string
	Apply(ctx context.Context, spec Spec) error
	Remove(ctx context.Context, spec Spec) error
	// List returns the engines of a vllmctl project (all profiles when profile is "").
	List(ctx context.Context, project, profile string) ([]Instance, error)
	// Logs streams an instance's log from its start (follow) or its last lines.
	Logs(ctx context.Context, inst Instance, follow bool, since time.Time) (io.ReadCloser, error)
	// Exits reports exits and restarts of an instance until ctx ends.
	Exits(ctx context.Context, inst Instance) <-chan Exit
}

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
)

// Exit codes of up and restart beyond the common ones.
const (
	ExitConfig  = 3 // check found errors: nothing was deployed
	ExitTimeout = 4 // the engine stalled
)

type runtimeFlags struct {
	runtime  string
	compose  string
	simulate bool
	simBin   string
}

func (f *runtimeFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.runtime, "runtime", "auto", "docker, process, or auto (docker when an engine answers, else process)")
	c.Flags().StringVar(&f.compose, "compose", "auto", "Compose CLI for the docker runtime: v2 (docker compose), v1 (docker-compose) or auto")
	c.Flags().BoolVar(&f.simulate, "simulate", false, "run the profile on vllm-sim (image vllm-sim:dev, or the binary with --runtime process): no GPU needed")
	c.Flags().StringVar(&f.simBin, "sim-binary", "", "vllm-sim binary for --simulate with the process runtime (default: next to vllmctl, else PATH)")
}

func (e *env) backend(p *project.Project, f runtimeFlags) (runtime.Backend, error) {
	dep := deploy.New(p, nil)
	proc := &runtime.Process{StateDir: dep.Store.Dir}
	switch f.runtime {
	case "process":
		return proc, nil
	case "docker", "auto":
		prefer := f.compose
		if prefer == "auto" {
			prefer = ""
		}
		d, err := runtime.NewDocker(e.ctx, prefer)
		if err == nil {
			return d, nil
		}
		if f.runtime == "docker" {
			return nil, err
		}
		if _, lerr := exec.LookPath("docker"); lerr == nil {
			fmt.Fprintf(e.stderr, "note: docker runtime unavailable (%v); using the process runtime\n", err)
		}
		return proc, nil
	}
	return nil, usageErr("--runtime %q: use docker, process or auto", f.runtime)
}

// runtimes is the runtime of the flags for new deploys, and the runtime each
// deployed profile's record names for everything else; pinned (the command
// was given --runtime or --compose) looks for every profile on the flags' runtime.
func (e *env) runtimes(p *project.Project, rt runtimeFlags, pinned bool) (*deploy.Runtimes, error) {
	be, err := e.backend(p, rt)
	if err != nil {
		return nil, err
	}
	return deploy.NewRuntimes(be, pinned, deploy.New(p, nil).Store.Dir), nil
}

// located loads the project for a verb on deployed profiles (down, status,
// logs): each profile is found where up recorded it, unless the command was
// given --runtime or --compose.
func (e *env) located(c *cobra.Command, rt runtimeFlags) (*project.Project, *deploy.Deployer, error) {
	p, err := e.load(project.Options{})
	if err != nil {
		return nil, nil, err
	}
	rts, err := e.runtimes(p, rt, pinnedRuntime(c))
	if err != nil {
		return nil, nil, err
	}
	return p, deploy.NewLocated(p, rts), nil
}

// pinnedRuntime: the command line names the runtime.
func pinnedRuntime(c *cobra.Command) bool {
	return c.Flags().Changed("runtime") || c.Flags().Changed("compose")
}

// stateErr gives a damaged state file exit status 2 (a project that cannot
// be read as it is), a missing record 1; other errors pass.
func stateErr(err error) error {
	var ee *exitError
	switch {
	case err == nil || errors.As(err, &ee):
		return err
	case errors.Is(err, state.ErrCorrupt):
		return &exitError{code: ExitUsage, err: err}
	case errors.Is(err, deploy.ErrNoRecord):
		return &exitError{code: ExitFindings, err: err}
	}
	return err
}

// terminal reports whether r is an interactive terminal: a character device
// other than the null device (stdin of a service or a CI job).
func terminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(st, null) {
		return false
	}
	return true
}

// confirm asks a yes/no question on stderr and reads the answer from stdin;
// nil when stdin is not a terminal (nobody to ask).
func (e *env) confirm() func(string) (bool, error) {
	if !terminal(e.stdin) {
		return nil
	}
	in := bufio.NewReader(e.stdin)
	return func(q string) (bool, error) {
		fmt.Fprint(e.stderr, q)
		if f, ok := e.stderr.(interface{ Flush() error }); ok {
			_ = f.Flush()
		}
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return false, fmt.Errorf("no answer: %w", err)
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	}
}

// Package cli is vllmctl's command table: it turns flags into options, calls one
// verb of the core packages and renders what comes back as a table, JSON or
// YAML. It maps errors to exit codes in one place: 0 ok, 1 findings or failure,
// 2 usage or a project that cannot be loaded. Nothing imports it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

// Exit codes.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitUsage    = 2
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// env is what every command receives from Main.
type env struct {
	ctx     context.Context
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ map[string]string
	root    string
	output  string
}

// Main runs vllmctl with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, environ: environ()}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "vllmctl:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "vllmctl:", err)
	if errors.Is(err, project.ErrInvalid) || errors.Is(err, project.ErrNotFound) || isUsage(err) {
		return ExitUsage
	}
	return ExitFindings
}

func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "vllmctl",
		Short: "Check, plan and run vLLM services defined as docker compose profiles",
		Long: `vllmctl understands a folder of docker compose files that run vLLM:

  configs/docker/docker-compose.yml        optional base file, merged under every profile
  configs/docker/profiles/<name>.yml       one compose overlay per service profile
  .env                                     variables, read from the project root
  vllmctl.yaml                             optional settings (paths, retention, GPUs)

It reports every defect before a deploy (empty variables, unknown or no-op vLLM
flags, port and GPU clashes, hard-coded secrets) with file:line and a fix.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.PersistentFlags().StringVarP(&e.root, "root", "C", ".", "project root `DIR` (holds configs/, .env, vllmctl.yaml)")
	root.AddCommand(
		newProfilesCmd(e),
		newShowCmd(e),
		newCheckCmd(e),
		newSchemaCmd(e),
		newInitCmd(e),
		newNewCmd(e),
		newGPUsCmd(e),
		newPlanCmd(e),
		newUpCmd(e),
		newDownCmd(e),
		newRestartCmd(e),
		newLogsCmd(e),
		newStatusCmd(e),
		newHistoryCmd(e),
		newChatCmd(e),
		newDiffCmd(e),
		newAuditCmd(e),
		newArchiveCmd(e),
		newDocsCmd(e),
		newServeCmd(e),
		newWatchCmd(e),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	return root
}

// addOutput registers -o on a command that prints data.
func addOutput(c *cobra.Command, e *env) {
	c.Flags().StringVarP(&e.output, "output", "o", "table", "output format: table, json or yaml")
}

func (e *env) checkOutput() error {
	switch e.output {
	case "table", "json", "yaml":
		return nil
	}
	return usageErr("unknown output format %q (use table, json or yaml)", e.output)
}

// load reads the project at --root.
func (e *env) load(opts project.Options) (*project.Project, error) {
	opts.Root = e.root
	opts.Environ = e.environ
	p, err := project.Load(e.ctx, opts)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return p, nil
}

// redactor masks every secret the project knows: secret-named variables of
// .env and the environment, and --api-key values.
func redactorFor(p *project.Project) *redact.Redactor {
	r := redact.New()
	if p.Env != nil {
		for k, v := range p.Env.Values {
			if project.IsSecretName(k) {
				r.Add(v)
			}
		}
	}
	for _, pr := range p.Profiles {
		for _, s := range pr.Services {
			if s.Args.APIKey != "" {
				r.Add(s.Args.APIKey)
			}
			if a, ok := s.Args.Lookup("api-key"); ok {
				r.Add(a.Values...)
			}
			for k, v := range s.Config.Environment {
				if v != nil && project.IsSecretName(k) {
					r.Add(*v)
				}
			}
		}
	}
	for k, v := range p.Environ() {
		if project.IsSecretName(k) {
			r.Add(v)
		}
	}
	return r
}

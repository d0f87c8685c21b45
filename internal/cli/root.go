package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
)

// Version, Commit and Date describe the build. The Makefile stamps them:
//
//	-X github.com/vllmctl/vllmctl/internal/cli.Version=v1.2.3
//	-X github.com/vllmctl/vllmctl/internal/cli.Commit=0123456789ab
//	-X github.com/vllmctl/vllmctl/internal/cli.Date=2026-01-02T03:04:05Z
//
// Left unstamped (go install github.com/vllmctl/vllmctl/cmd/vllmctl@latest,
// a plain go build), they come from what the Go toolchain records in the
// binary: the module's version, and the commit and its time when it was built
// in a checkout. `vllmctl --version` prints them (versionInfo).
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// buildVersion is the version, commit and date of this binary; "" is unknown.
type buildVersion struct {
	version, commit, date string
}

// versionInfo resolves the stamped values against debug.ReadBuildInfo.
func versionInfo() buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return resolveVersion(Version, Commit, Date, bi)
}

// resolveVersion fills what ldflags left unset from the build info: the main
// module's version (a tagged release under go install), vcs.revision (12
// characters, "-dirty" when vcs.modified) and vcs.time.
func resolveVersion(version, commit, date string, bi *debug.BuildInfo) buildVersion {
	v := buildVersion{version: version, commit: commit, date: date}
	if bi != nil {
		if v.version == "" || v.version == "dev" {
			if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
				v.version = mv
			}
		}
		var rev, at string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if v.commit == "" && rev != "" {
			v.commit = rev[:min(12, len(rev))]
			if modified {
				v.commit += "-dirty"
			}
		}
		if v.date == "" {
			v.date = at
		}
	}
	if v.version == "" {
		v.version = "dev"
	}
	return v
}

// String is what --version prints after the name: "v1.2.3 (commit 0123456789ab,
// built 2026-01-02T03:04:05Z)", leaving out what is unknown.
func (v buildVersion) String() string {
	var parts []string
	if v.commit != "" {
		parts = append(parts, "commit "+v.commit)
	}
	if v.date != "" {
		parts = append(parts, "built "+v.date)
	}
	if len(parts) == 0 {
		return v.version
	}
	return v.version + " (" + strings.Join(parts, ", ") + ")"
}

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
	ctx context.Context
	// imageReader is images()'s reader, made on first use.
	imageReader *dockerImages
	stdin       io.Reader
	stdout      io.Writer // masks red's secrets
	stderr      io.Writer // masks red's secrets
	environ     map[string]string
	root        string
	output      format
	// red holds every secret this run knows: secret-named variables of the
	// environment from the start, the project's .env as soon as --root is
	// parsed, and everything redactorFor finds once the project loads. stdout
	// and stderr mask them; pass it to the core (deploy.UpOptions.Redact,
	// state.Store.Redact) so files are masked the same way.
	red *redact.Redactor
}

// Main runs vllmctl with args (without the program name) and returns the exit code.
// Everything written to stdout and stderr goes through a masking writer: no
// secret the project knows reaches them in clear, whatever the command or -o.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	vars := environ()
	red := redact.New()
	for k, v := range vars {
		if secretVar(k) {
			red.AddNamed(k, v)
		}
	}
	mout, merr := redact.NewWriter(stdout, red), redact.NewWriter(stderr, red)
	defer func() { _ = mout.Flush(); _ = merr.Flush() }()
	stdout, stderr = mout, merr
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, environ: vars, red: red}
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
	if errors.Is(err, project.ErrInvalid) || errors.Is(err, project.ErrNotFound) {
		return ExitUsage
	}
	if _, _, ferr := root.Find(args); ferr != nil {
		return ExitUsage // the command line names no command (an unknown one)
	}
	return ExitFindings
}

// usageArgs makes the positional-argument check and the required and
// grouped flags of every command in the tree usage errors (exit 2), by
// where they fail rather than by cobra's wording; flag parsing errors are
// usage errors through SetFlagErrorFunc.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			return nil
		}
	}
	if c.PreRun == nil && c.PreRunE == nil {
		// cobra checks the same after PreRunE: this check comes first.
		c.PreRunE = func(cmd *cobra.Command, _ []string) error {
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
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
		Version:       versionInfo().String(),
		// Before any command runs: learn the secrets of --root's .env, so even
		// a command that fails before loading the project masks them.
		PersistentPreRun: func(*cobra.Command, []string) { e.learnEnvFile() },
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n") // vllmctl v1.2.3 (commit 0123456789ab, built 2026-01-02T03:04:05Z)
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
		newExportCmd(e),
		newBenchCmd(e),
		newPromoteCmd(e),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	usageArgs(root)
	return root
}

// addOutput registers -o on a command that prints data: table (the
// default), json or yaml, and the extra formats the command takes.
func addOutput(c *cobra.Command, e *env, extra ...format) {
	e.output = formatTable
	allowed := append([]format{formatTable, formatJSON, formatYAML}, extra...)
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	c.Flags().VarP(formatFlag{&e.output, allowed}, "output", "o", "output format: "+strings.Join(names, ", "))
}

// load reads the project at --root.
func (e *env) load(opts project.Options) (*project.Project, error) {
	opts.Root = e.root
	opts.Environ = e.environ
	opts.Images = e.images()
	p, err := project.Load(e.ctx, opts)
	if err != nil {
		if len(opts.Only) > 0 || len(opts.Files) > 0 {
			// the error may repeat an argument: learn the whole project's
			// secrets (--api-key values of variables not named as secrets too)
			if whole, werr := project.Load(e.ctx, project.Options{Root: opts.Root, Environ: opts.Environ}); werr == nil {
				e.learn(whole)
			}
		}
		return nil, &exitError{code: ExitUsage, err: err}
	}
	e.learn(p)
	return p, nil
}

// learn adds the secrets of a loaded project to the ones stdout and stderr
// mask. e.load calls it; code that loads a project another way (serve's
// reload, a stand-alone file) must call it too.
func (e *env) learn(p *project.Project) {
	if e.red != nil && p != nil {
		e.red.Merge(redactorFor(p))
	}
}

// learnEnvFile reads the secret-named keys of --root's .env, best effort (the
// project's own env_file is learnt when it loads).
func (e *env) learnEnvFile() {
	if e.red == nil {
		return
	}
	data, err := os.ReadFile(filepath.Join(e.root, ".env"))
	if err != nil {
		return
	}
	env, _ := project.ParseEnv(".env", data, func(k string) (string, bool) { v, ok := e.environ[k]; return v, ok })
	for _, k := range env.Keys() {
		if secretVar(k) {
			e.red.AddNamed(k, env.Values[k])
			if key, _, ok := strings.Cut(env.Values[k], "|"); ok {
				e.red.AddNamed(k, key)
			}
		}
	}
}

// secretVar reports whether a variable holds a secret: project.IsSecretName,
// and the gateway's client keys (VLLMCTL_GATEWAY_KEY_<NAME>).
func secretVar(name string) bool {
	return project.IsSecretName(name) || strings.HasPrefix(name, "VLLMCTL_GATEWAY_KEY_")
}

// redactorFor masks every secret the project knows: secret-named variables of
// .env and the environment (secretVar), and --api-key values.
func redactorFor(p *project.Project) *redact.Redactor {
	r := redact.New()
	if p.Env != nil {
		for k, v := range p.Env.Values {
			if secretVar(k) {
				r.AddNamed(k, v)
				if key, _, ok := strings.Cut(v, "|"); ok { // a gateway key restricted to models
					r.AddNamed(k, key)
				}
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
		if secretVar(k) {
			r.AddNamed(k, v)
		}
	}
	return r
}

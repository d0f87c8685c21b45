package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// ComposeCLI is the Compose command of this machine.
type ComposeCLI struct {
	Argv    []string // ["docker", "compose"] or ["docker-compose"]
	Version string
}

// V2 reports whether this is Compose v2.
func (c ComposeCLI) V2() bool { return len(c.Argv) == 2 }

// DetectCompose finds Compose v2 (`docker compose`) or, failing that, v1
// (`docker-compose`). prefer ("v1", "v2" or "") forces one.
func DetectCompose(ctx context.Context, prefer string) (ComposeCLI, error) {
	try := func(argv ...string) (ComposeCLI, bool) {
		out, err := exec.CommandContext(ctx, argv[0], append(argv[1:], "version", "--short")...).Output()
		if err != nil {
			return ComposeCLI{}, false
		}
		return ComposeCLI{Argv: argv, Version: strings.TrimSpace(string(out))}, true
	}
	if prefer != "v1" {
		if c, ok := try("docker", "compose"); ok {
			return c, nil
		}
	}
	if prefer != "v2" {
		if c, ok := try("docker-compose"); ok {
			return c, nil
		}
	}
	return ComposeCLI{}, fmt.Errorf("no Compose CLI found: install the docker compose plugin (v2) or docker-compose (v1), or use --runtime process")
}

// args builds a compose command line for a spec.
func (c ComposeCLI) args(spec Spec, verb ...string) []string {
	a := append([]string(nil), c.Argv...)
	a = append(a, "-p", spec.ComposeName, "--project-directory", spec.Root, "-f", spec.File)
	if spec.EnvFile != "" {
		a = append(a, "--env-file", spec.EnvFile)
	}
	return append(a, verb...)
}

func run(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv[:min(len(argv), 2)], " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/observability"
	"github.com/vllmctl/vllmctl/internal/project"
)

func newExportComposeServiceCmd(e *env) *cobra.Command {
	var dir string
	s := observability.ServeService{Image: "vllmctl:dev", Publish: "127.0.0.1:8080", DockerSocket: "/var/run/docker.sock"}
	c := &cobra.Command{
		Use:   "compose-service",
		Short: "Write a compose service that runs `vllmctl serve` beside the engines, restarted with Docker",
		Long: `Write vllmctl-serve.compose.yml under -O DIR (or print it): one service that runs
'vllmctl serve --runtime docker' from the vllmctl image (make image: a static
binary in a FROM scratch image, with a Compose CLI for the watchdog's restarts),
so that 'docker compose up -d' starts the gateway and the watchdog beside the
engines and Docker brings them back after a reboot (restart: unless-stopped).

The service mounts the Docker socket, the project folder read-only at its own
absolute path (compose files applied from inside resolve their bind sources to
the same host paths), and the state folder read-write. It shares the host's
network (network_mode: host), so serve reaches the engines' published ports on
127.0.0.1 as it does outside a container, and the gateway listens on --publish
(127.0.0.1:8080) itself; vllmctl-probe checks GET /health. Docker Desktop needs
host networking enabled in its settings.

The paths are this machine's: run export where the Docker daemon runs (on
Docker Desktop, from the folder shared with it).`,
		Example: `  vllmctl export compose-service -O .
  make image && docker compose -f vllmctl-serve.compose.yml up -d
  vllmctl export compose-service --publish 0.0.0.0:8080   # only with gateway keys in .env`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			root, err := filepath.Abs(p.Root)
			if err != nil {
				return err
			}
			s.Root = filepath.ToSlash(root)
			state := p.Config.StateDir
			if !filepath.IsAbs(state) {
				state = filepath.Join(root, state)
			}
			s.StateDir = filepath.ToSlash(state)
			s.ComposeName = p.Config.ProjectName + "-vllmctl"
			b, err := observability.ComposeService(s)
			if err != nil {
				return usageErr("%v", err)
			}
			if err := e.writeExport(dir, []exportFile{{observability.ComposeServiceFile, b}}); err != nil {
				return err
			}
			if dir != "" {
				fmt.Fprintf(e.stderr, "start it with: docker compose -f %s up -d (after make image)\n", filepath.Join(dir, observability.ComposeServiceFile))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&dir, "out-dir", "O", "", "write the file into `DIR` (created if missing); print it when not given")
	c.Flags().StringVar(&s.Image, "image", s.Image, "the vllmctl image (make image builds vllmctl:dev)")
	c.Flags().StringVar(&s.Publish, "publish", s.Publish, "host address:port the gateway listens on")
	c.Flags().StringVar(&s.DockerSocket, "docker-socket", s.DockerSocket, "the Docker daemon's socket on the host")
	return c
}

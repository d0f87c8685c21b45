package observability

import (
	"bytes"
	"fmt"
	"net"
	"path"
	"strconv"
)

// ServeService describes `vllmctl serve` run as a compose service beside the
// engines: the gateway, the watchdog and the dashboard in one container that
// Docker restarts with the host.
type ServeService struct {
	ComposeName  string // compose project of the service: <project>-vllmctl
	Root         string // the project folder, absolute, as the Docker host sees it
	StateDir     string // the state folder (.vllmctl), absolute, written by serve
	Image        string // vllmctl:dev (make image)
	Publish      string // host address:port the gateway listens on, e.g. 127.0.0.1:8080
	DockerSocket string // the Docker daemon's socket on the host
}

// ComposeServiceFile is the file export compose-service writes.
const ComposeServiceFile = "vllmctl-serve.compose.yml"

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string             `yaml:"image"`
	Command     []string           `yaml:"command"`
	WorkingDir  string             `yaml:"working_dir"`
	Restart     string             `yaml:"restart"`
	NetworkMode string             `yaml:"network_mode"`
	Volumes     []string           `yaml:"volumes"`
	Labels      map[string]string  `yaml:"labels"`
	Healthcheck composeHealthcheck `yaml:"healthcheck"`
}

type composeHealthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

// ComposeService renders the compose file of s. The project folder is
// mounted read-only at the same absolute path, so that the compose files
// serve applies resolve their relative bind sources to the same host paths
// the Docker daemon sees; the state folder is mounted read-write over it.
// The service shares the host's network (network_mode: host): serve reaches
// the engines on their published ports at 127.0.0.1 as it does outside a
// container, and the gateway listens on Publish itself.
func ComposeService(s ServeService) ([]byte, error) {
	if !path.IsAbs(s.Root) || !path.IsAbs(s.StateDir) {
		return nil, fmt.Errorf("the project folder %q and state folder %q must be absolute paths of the Docker host", s.Root, s.StateDir)
	}
	host, port, err := net.SplitHostPort(s.Publish)
	if err != nil {
		return nil, fmt.Errorf("--publish %q: want HOST:PORT, e.g. 127.0.0.1:8080", s.Publish)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("--publish %q: the port is not a number", s.Publish)
	}
	probe := host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		probe = "127.0.0.1"
	}
	svc := composeService{
		Image:       s.Image,
		Command:     []string{"serve", "--listen", s.Publish, "--runtime", "docker"},
		WorkingDir:  s.Root,
		Restart:     "unless-stopped",
		NetworkMode: "host",
		Volumes: []string{
			s.DockerSocket + ":/var/run/docker.sock",
			s.Root + ":" + s.Root + ":ro",
			s.StateDir + ":" + s.StateDir,
		},
		Labels: map[string]string{"dev.vllmctl.role": "serve"},
		Healthcheck: composeHealthcheck{
			Test:     []string{"CMD", "/usr/bin/vllmctl-probe", "http://" + net.JoinHostPort(probe, port) + "/health"},
			Interval: "30s", Timeout: "5s", Retries: 3, StartPeriod: "20s",
		},
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# `vllmctl serve` as a service, written by `vllmctl export compose-service`:\n")
	fmt.Fprintf(&b, "# gateway, watchdog and dashboard beside the engines, restarted with Docker.\n")
	fmt.Fprintf(&b, "#   make image    # builds %s (static vllmctl in a FROM scratch image)\n", s.Image)
	fmt.Fprintf(&b, "#   docker compose -f %s up -d\n", ComposeServiceFile)
	fmt.Fprintf(&b, "# The Docker socket gives this container control of the host's Docker: listen beyond\n")
	fmt.Fprintf(&b, "# loopback only with gateway keys set in the project's .env. network_mode: host lets\n")
	fmt.Fprintf(&b, "# serve reach the engines' published ports (Docker Desktop: enable host networking).\n")
	err = encodeYAML(&b, composeFile{Name: s.ComposeName, Services: map[string]composeService{"vllmctl": svc}})
	return b.Bytes(), err
}

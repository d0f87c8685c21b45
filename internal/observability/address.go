package observability

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Vantage is where Prometheus runs, which decides how it reaches a port the
// engines publish on the Docker host.
type Vantage string

// Vantages.
const (
	// OnHost: Prometheus runs on the Docker host (or the gateway's machine):
	// a port published on every address is reached on 127.0.0.1.
	OnHost Vantage = "host"
	// InContainer: Prometheus runs in a container on the same Docker host and
	// reaches published ports through host.docker.internal (Docker Desktop
	// provides it; a Linux Docker Engine needs
	// extra_hosts: ["host.docker.internal:host-gateway"] on the Prometheus service).
	InContainer Vantage = "container"
)

// DockerHost is what the Docker daemon said about itself; Known is false when
// no daemon answered.
type DockerHost struct {
	Known   bool
	Desktop bool // Docker Desktop: host.docker.internal reaches the host's loopback too
}

// PublishedPort is one port a service publishes, as the compose file says it.
type PublishedPort struct {
	HostIP    string
	Published int    // 0 when not a number (a variable no .env sets, a range)
	Raw       string // the published value as written (after interpolation)
}

// Address tells how Prometheus at vantage v reaches a published port, or why
// it cannot be told: it never guesses a port.
func Address(ports []PublishedPort, v Vantage, dh DockerHost) (addr, unknown string) {
	if len(ports) == 0 {
		return "", "the engine publishes no port: add ports: [\"HOST:8000\"] to scrape it from outside its network"
	}
	p := ports[0]
	if p.Published <= 0 {
		if p.Raw == "" {
			return "", "the host port is empty (not written, or a variable no .env sets): Docker picks one at each start"
		}
		return "", fmt.Sprintf("the host port %q is not a number (a variable no .env sets, or a range)", p.Raw)
	}
	port := strconv.Itoa(p.Published)
	ip := strings.Trim(p.HostIP, "[]")
	anyAddr := ip == "" || ip == "0.0.0.0" || ip == "::"
	loopback := false
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsLoopback() {
		loopback = true
	}
	switch v {
	case InContainer:
		if loopback && !(dh.Known && dh.Desktop) {
			return "", "published on " + ip + " only: a Prometheus container reaches the host through host.docker.internal, which does not reach the host's loopback on a Linux Docker Engine; publish on 0.0.0.0 or run Prometheus on the host (--prometheus-at host)"
		}
		if anyAddr || loopback {
			return net.JoinHostPort("host.docker.internal", port), ""
		}
		return net.JoinHostPort(ip, port), ""
	default:
		if anyAddr {
			return net.JoinHostPort("127.0.0.1", port), ""
		}
		return net.JoinHostPort(ip, port), ""
	}
}

// GatewayAddress is the gateway's listen address as Prometheus at v reaches it.
func GatewayAddress(listen string, v Vantage, dh DockerHost) (addr, unknown string) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Sprintf("--gateway %q is not host:port", listen)
	}
	pp := []PublishedPort{{HostIP: host, Raw: port}}
	if n, err := strconv.Atoi(port); err == nil {
		pp[0].Published = n
	}
	addr, unknown = Address(pp, v, dh)
	if unknown != "" {
		unknown = strings.Replace(unknown, "publish on 0.0.0.0", "run `vllmctl serve --listen 0.0.0.0:"+port+"` (with gateway keys set)", 1)
	}
	return addr, unknown
}

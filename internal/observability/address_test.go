package observability

import (
	"strings"
	"testing"
	"time"
)

func TestAddress(t *testing.T) {
	desktop, linux := DockerHost{Known: true, Desktop: true}, DockerHost{Known: true}
	for _, c := range []struct {
		name     string
		ports    []PublishedPort
		v        Vantage
		dh       DockerHost
		addr     string
		unknowns string
	}{
		{"every address, host", []PublishedPort{{Published: 5001, Raw: "5001"}}, OnHost, linux, "127.0.0.1:5001", ""},
		{"0.0.0.0, host", []PublishedPort{{HostIP: "0.0.0.0", Published: 5001, Raw: "5001"}}, OnHost, linux, "127.0.0.1:5001", ""},
		{"a given address, host", []PublishedPort{{HostIP: "10.0.0.7", Published: 5001, Raw: "5001"}}, OnHost, linux, "10.0.0.7:5001", ""},
		{"IPv6 loopback, host", []PublishedPort{{HostIP: "::1", Published: 5001, Raw: "5001"}}, OnHost, linux, "[::1]:5001", ""},
		{"every address, container", []PublishedPort{{Published: 5001, Raw: "5001"}}, InContainer, linux, "host.docker.internal:5001", ""},
		{"loopback, container, Desktop", []PublishedPort{{HostIP: "127.0.0.1", Published: 5001, Raw: "5001"}}, InContainer, desktop, "host.docker.internal:5001", ""},
		{"loopback, container, Linux engine", []PublishedPort{{HostIP: "127.0.0.1", Published: 5001, Raw: "5001"}}, InContainer, linux, "", "does not reach the host's loopback"},
		{"loopback, container, no daemon", []PublishedPort{{HostIP: "127.0.0.1", Published: 5001, Raw: "5001"}}, InContainer, DockerHost{}, "", "publish on 0.0.0.0"},
		{"no port", nil, OnHost, linux, "", "publishes no port"},
		{"ephemeral", []PublishedPort{{}}, OnHost, linux, "", "host port is empty"},
		{"a variable", []PublishedPort{{Raw: "${PORT}"}}, OnHost, linux, "", `"${PORT}" is not a number`},
	} {
		addr, unknown := Address(c.ports, c.v, c.dh)
		if addr != c.addr || (c.unknowns == "") != (unknown == "") || !strings.Contains(unknown, c.unknowns) {
			t.Errorf("%s: got %q, %q; want %q, %q", c.name, addr, unknown, c.addr, c.unknowns)
		}
	}
	if a, u := GatewayAddress("127.0.0.1:8080", InContainer, linux); a != "" || !strings.Contains(u, "vllmctl serve --listen 0.0.0.0:8080") {
		t.Errorf("gateway on loopback seen from a container on Linux: %q, %q", a, u)
	}
	if a, u := GatewayAddress("0.0.0.0:9000", OnHost, linux); a != "127.0.0.1:9000" || u != "" {
		t.Errorf("gateway on every address from the host: %q, %q", a, u)
	}
	if _, u := GatewayAddress("8080", OnHost, linux); !strings.Contains(u, "not host:port") {
		t.Errorf("gateway without host: %q", u)
	}
}

func TestDur(t *testing.T) {
	for d, want := range map[string]string{"1h": "1h", "90m": "90m", "15s": "15s", "1500ms": "1500ms", "0s": "0s"} {
		dd, _ := parseDur(d)
		if got := Dur(dd); got != want {
			t.Errorf("Dur(%s) = %s", d, got)
		}
	}
}

func parseDur(s string) (time.Duration, error) { return time.ParseDuration(s) }

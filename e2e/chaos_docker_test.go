package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// dockerProxy is a unix socket that forwards to the Docker Engine's: serve
// is pointed at it (DOCKER_HOST), and the test takes the API away and back
// as a daemon restart would, without touching the host's daemon.
type dockerProxy struct {
	t     *testing.T
	path  string
	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newDockerProxy(t *testing.T) *dockerProxy {
	dir, err := os.MkdirTemp("", "dk") // a short path: unix sockets take 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	px := &dockerProxy{t: t, path: filepath.Join(dir, "docker.sock"), conns: map[net.Conn]bool{}}
	px.up()
	t.Cleanup(px.down)
	return px
}

func (px *dockerProxy) host() string { return "DOCKER_HOST=unix://" + px.path }

// up listens again; the Engine answers through it.
func (px *dockerProxy) up() {
	_ = os.Remove(px.path)
	ln, err := net.Listen("unix", px.path)
	if err != nil {
		px.t.Fatal(err)
	}
	px.mu.Lock()
	px.ln = ln
	px.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("unix", "/var/run/docker.sock")
			if err != nil {
				c.Close()
				continue
			}
			px.mu.Lock()
			px.conns[c], px.conns[d] = true, true
			px.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); d.Close() }()
			go func() { _, _ = io.Copy(c, d); c.Close() }()
		}
	}()
}

// down closes the socket and every connection through it: the API is gone.
func (px *dockerProxy) down() {
	px.mu.Lock()
	defer px.mu.Unlock()
	if px.ln != nil {
		px.ln.Close()
		px.ln = nil
	}
	for c := range px.conns {
		c.Close()
	}
	px.conns = map[net.Conn]bool{}
}

// chat asks the gateway for a 2-token completion of model; the status, or 0
// when the gateway does not answer.
func chat(base, model string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`))
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

const outageFor = 5 * time.Second

// TestChaosDockerAPIOutageServe: serve routes to an engine on the docker
// runtime through a Docker API that goes away for 5 s and comes back (a
// daemon restart, as serve sees it). serve keeps running and answering, does
// not panic, and routes to the engine again within 30 s of the API's return.
func TestChaosDockerAPIOutageServe(t *testing.T) {
	px := newDockerProxy(t)
	p := newProject(t, variants[1], goodArgs, "", "")
	p.must(0, "up", "a")
	gw := freeport.T(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", gw)
	s := start(t, p.dir, []string{px.host()}, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", gw), "--refresh", "300ms",
		"--runtime", "docker", "--compose", "v2", "--simulate")
	defer s.stop()
	if !waitFor(30*time.Second, func() bool { return chat(base, "tiny") == 200 }) {
		t.Fatalf("serve never routed to a:\n%s", s.out.String())
	}
	before := chat(base, "tiny")
	px.down()
	during := map[int]int{}
	deadline := time.Now().Add(outageFor)
	waitFor(outageFor, func() bool { during[chat(base, "tiny")]++; return time.Now().After(deadline) })
	if s.wait(0) {
		t.Fatalf("serve ended while the Docker API was away: exit %d\n%s", s.code, s.out.String())
	}
	if during[0] > 0 {
		t.Fatalf("the gateway stopped answering HTTP while the Docker API was away: %v\n%s", during, s.out.String())
	}
	px.up()
	back := time.Now()
	if !waitFor(30*time.Second, func() bool { return chat(base, "tiny") == 200 }) {
		t.Fatalf("routes did not recover within 30 s of the Docker API's return:\n%s", s.out.String())
	}
	recovered := time.Since(back)
	if strings.Contains(s.out.String(), "panic") {
		t.Fatalf("serve panicked:\n%s", s.out.String())
	}
	if s.wait(0) {
		t.Fatalf("serve ended: exit %d\n%s", s.code, s.out.String())
	}
	t.Logf("before: %d; during the %s outage: %v (status → answers); routes back %s after the API returned",
		before, outageFor, during, recovered.Round(10*time.Millisecond))
}

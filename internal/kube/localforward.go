package kube

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Forward is a port kept open on 127.0.0.1 whose every connection reaches
// the engine of a Deployment through the API server's port-forward (as
// kubectl port-forward, but it outlives the pod): serve routes a profile
// deployed with --target kubernetes to it. The pod is looked up again when a
// dial to the last one fails (a restart, a reschedule, a rollout), so a
// broken forward reconnects at the next connection.
type Forward struct {
	cs   kubernetes.Interface
	cfg  *rest.Config
	ns   string
	name string
	port int
	ln   net.Listener

	mu  sync.Mutex
	pod string // the pod last dialed; "" before the first dial or after a failure
	err error  // the last dial's error (nil when it succeeded)

	wg sync.WaitGroup
}

// StartForward listens on 127.0.0.1 (a free port) for the engine port of
// Deployment ns/name; Close stops it.
func StartForward(cs kubernetes.Interface, cfg *rest.Config, ns, name string, port int) (*Forward, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Forward{cs: cs, cfg: cfg, ns: ns, name: name, port: port, ln: ln}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

// Addr is the local address (127.0.0.1:PORT).
func (f *Forward) Addr() string { return f.ln.Addr().String() }

// Target is what it forwards to: namespace/deployment:port.
func (f *Forward) Target() string { return f.ns + "/" + f.name + ":" + strconv.Itoa(f.port) }

// Matches reports whether the forward goes to that Deployment and port.
func (f *Forward) Matches(ns, name string, port int) bool {
	return f.ns == ns && f.name == name && f.port == port
}

// Pod is the pod last reached ("" when none) and the last dial's error.
func (f *Forward) Pod() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pod, f.err
}

// Close stops listening and waits for the accept loop (open connections
// end with their peers).
func (f *Forward) Close() error {
	err := f.ln.Close()
	f.wg.Wait()
	return err
}

func (f *Forward) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		go f.handle(c)
	}
}

func (f *Forward) handle(c net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	up, err := f.dial(ctx)
	cancel()
	if err != nil {
		_ = c.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
}

// dial reaches the engine: through the pod last dialed, else (or when that
// fails) through the Deployment's newest pod of its current template.
func (f *Forward) dial(ctx context.Context) (net.Conn, error) {
	f.mu.Lock()
	pod := f.pod
	f.mu.Unlock()
	if pod != "" {
		if c, err := f.dialPod(ctx, pod); err == nil {
			return c, nil
		}
	}
	p, err := EnginePod(ctx, f.cs, f.ns, f.name)
	if err == nil {
		pod = p.Name
		var c net.Conn
		if c, err = f.dialPod(ctx, pod); err == nil {
			f.set(pod, nil)
			return c, nil
		}
	}
	f.set("", err)
	return nil, err
}

func (f *Forward) set(pod string, err error) {
	f.mu.Lock()
	f.pod, f.err = pod, err
	f.mu.Unlock()
}

func (f *Forward) dialPod(ctx context.Context, pod string) (net.Conn, error) {
	d := &podDialer{cfg: f.cfg, cs: f.cs, ns: f.ns, pod: pod, port: f.port}
	return d.DialContext(ctx, "tcp", "")
}

// EnginePort is the engine's container port of an engine (8000 unless the
// profile says another).
func EnginePort(e *Engine) int { return enginePort(e) }

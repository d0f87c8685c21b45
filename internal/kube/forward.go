package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// podDialer opens TCP connections to a pod's port through the API server's
// portforward subresource, as kubectl port-forward does (WebSocket, falling
// back to SPDY), one port-forward connection per dial and no local listener:
// an HTTP client whose transport dials with it reaches the engine from
// anywhere the API server is reachable.
type podDialer struct {
	cfg  *rest.Config
	cs   kubernetes.Interface
	ns   string
	pod  string
	port int
}

// DialContext implements the http.Transport dial hook (address ignored).
func (d *podDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	u := d.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(d.ns).Name(d.pod).SubResource("portforward").URL()
	rt, upgrader, err := spdy.RoundTripperFor(d.cfg)
	if err != nil {
		return nil, err
	}
	spdyDialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	wsDialer, err := portforward.NewSPDYOverWebsocketDialer(u, d.cfg)
	if err != nil {
		return nil, err
	}
	// Any failure of the WebSocket upgrade falls back to SPDY (kubectl
	// falls back on upgrade and proxy errors only; the retry is cheap).
	dialer := portforward.NewFallbackDialer(wsDialer, spdyDialer, func(error) bool { return true })
	type dialed struct {
		fc        *forwardConn
		errStream io.Reader
		err       error
	}
	ch := make(chan dialed, 1)
	addr := forwardAddr(d.ns + "/" + d.pod + ":" + strconv.Itoa(d.port))
	go func() {
		conn, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
		if err != nil {
			ch <- dialed{err: fmt.Errorf("port-forward to pod %s/%s: %w", d.ns, d.pod, err)}
			return
		}
		h := http.Header{}
		h.Set(corev1.StreamType, corev1.StreamTypeError)
		h.Set(corev1.PortHeader, strconv.Itoa(d.port))
		h.Set(corev1.PortForwardRequestIDHeader, "0")
		errStream, err := conn.CreateStream(h)
		if err != nil {
			_ = conn.Close()
			ch <- dialed{err: fmt.Errorf("port-forward to pod %s/%s: error stream: %w", d.ns, d.pod, err)}
			return
		}
		_ = errStream.Close() // nothing is written to it
		h.Set(corev1.StreamType, corev1.StreamTypeData)
		data, err := conn.CreateStream(h)
		if err != nil {
			_ = conn.Close()
			ch <- dialed{err: fmt.Errorf("port-forward to pod %s/%s: data stream: %w", d.ns, d.pod, err)}
			return
		}
		ch <- dialed{fc: &forwardConn{conn: conn, data: data, errc: make(chan string, 1), addr: addr}, errStream: errStream}
	}()
	var r dialed
	select {
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.fc != nil {
				_ = r.fc.Close()
			}
		}()
		return nil, ctx.Err()
	case r = <-ch:
		if r.err != nil {
			return nil, r.err
		}
	}
	fc, errStream := r.fc, r.errStream
	go func() {
		msg, _ := io.ReadAll(errStream)
		fc.errc <- string(msg)
	}()
	return fc, nil
}

// forwardConn is one forwarded TCP connection.
type forwardConn struct {
	conn io.Closer // the port-forward connection to the API server
	data interface {
		io.ReadWriter
		Reset() error
	}
	errc      chan string
	addr      forwardAddr
	closeOnce sync.Once
}

type forwardAddr string

func (a forwardAddr) Network() string { return "portforward" }
func (a forwardAddr) String() string  { return string(a) }

func (c *forwardConn) Read(p []byte) (int, error) {
	n, err := c.data.Read(p)
	if errors.Is(err, io.EOF) {
		// The remote side ended: the error stream says why when it failed
		// (connection refused while the engine keeps its port closed).
		select {
		case msg := <-c.errc:
			if msg != "" {
				return n, fmt.Errorf("port-forward: %s", msg)
			}
		case <-time.After(time.Second):
		}
	}
	return n, err
}

func (c *forwardConn) Write(p []byte) (int, error) { return c.data.Write(p) }

func (c *forwardConn) Close() error {
	c.closeOnce.Do(func() {
		_ = c.data.Reset()
		_ = c.conn.Close()
	})
	return nil
}

func (c *forwardConn) LocalAddr() net.Addr              { return c.addr }
func (c *forwardConn) RemoteAddr() net.Addr             { return c.addr }
func (c *forwardConn) SetDeadline(time.Time) error      { return nil }
func (c *forwardConn) SetReadDeadline(time.Time) error  { return nil }
func (c *forwardConn) SetWriteDeadline(time.Time) error { return nil }
func (d *podDialer) baseURL() string {
	return "http://" + d.pod + "." + d.ns + ":" + strconv.Itoa(d.port)
}
func (d *podDialer) httpClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}}
}

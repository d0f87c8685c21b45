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
	"k8s.io/apimachinery/pkg/util/httpstream"
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
	dialer := portforward.NewFallbackDialer(wsDialer, spdyDialer, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	type dialed struct {
		conn httpstream.Connection
		err  error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
		ch <- dialed{c, err}
	}()
	var conn httpstream.Connection
	select {
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.conn != nil {
				_ = r.conn.Close()
			}
		}()
		return nil, ctx.Err()
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("port-forward to pod %s/%s: %w", d.ns, d.pod, r.err)
		}
		conn = r.conn
	}
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(d.port))
	h.Set(corev1.PortForwardRequestIDHeader, "0")
	errStream, err := conn.CreateStream(h)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("port-forward to pod %s/%s: error stream: %w", d.ns, d.pod, err)
	}
	_ = errStream.Close() // nothing is written to it
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(h)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("port-forward to pod %s/%s: data stream: %w", d.ns, d.pod, err)
	}
	fc := &forwardConn{conn: conn, data: data, errc: make(chan string, 1), addr: forwardAddr(d.ns + "/" + d.pod + ":" + strconv.Itoa(d.port))}
	go func() {
		msg, _ := io.ReadAll(errStream)
		fc.errc <- string(msg)
	}()
	return fc, nil
}

// forwardConn is one forwarded TCP connection.
type forwardConn struct {
	conn      httpstream.Connection
	data      httpstream.Stream
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

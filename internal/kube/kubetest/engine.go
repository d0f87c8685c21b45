package kubetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/vllmctl/vllmctl/internal/freeport"
	"github.com/vllmctl/vllmctl/internal/sim"
)

// kwokCRDs are the kwok kinds the harness enables: where a pod's container
// log is read from, and where its ports forward to.
var kwokCRDs = []string{"ClusterLogs", "ClusterPortForward"}

var (
	crdGVR  = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	logsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "clusterlogs"}
	fwdGVR  = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "clusterportforwards"}
)

type certFiles struct{ ca, cert, key string }

// kubeletCerts writes a CA and, signed by it, a serving cert for 127.0.0.1:
// kwok serves the kubelet API with it, the apiserver trusts the CA.
func kubeletCerts(dir string) (certFiles, error) {
	f := certFiles{ca: filepath.Join(dir, "kubelet-ca.crt"), cert: filepath.Join(dir, "kwok.crt"), key: filepath.Join(dir, "kwok.key")}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vllmctl-test-kubelet-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return f, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kwok"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return f, err
	}
	for path, b := range map[string]*pem.Block{f.ca: {Type: "CERTIFICATE", Bytes: caDER}, f.cert: {Type: "CERTIFICATE", Bytes: der}, f.key: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}

// applyCRDs creates kwok's ClusterLogs and ClusterPortForward CRDs (copied by
// make kube-testbin into crds/) and waits until they serve.
func (c *Cluster) applyCRDs(ctx context.Context) error {
	dc, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	c.dyn = dc
	for _, f := range []string{"kwok.x-k8s.io_clusterlogs.yaml", "kwok.x-k8s.io_clusterportforwards.yaml"} {
		path := filepath.Join(c.bin, "crds", f)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%v: run `make kube-testbin` (it copies kwok's CRDs)", err)
		}
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if _, err := dc.Resource(crdGVR).Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", f, err)
		}
	}
	for _, gvr := range []schema.GroupVersionResource{logsGVR, fwdGVR} {
		if err := c.poll(ctx, "CRD "+gvr.Resource, func() error {
			_, err := dc.Resource(gvr).List(ctx, metav1.ListOptions{})
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// RouteNamespace makes every pod of namespace ns a local engine's: kwok
// reads its engine container's log from logFile (CRI log format) and
// forwards its port 8000 to 127.0.0.1:port.
func (c *Cluster) RouteNamespace(ctx context.Context, ns, logFile string, port int) error {
	sel := map[string]any{"matchNamespaces": []any{ns}}
	objs := []struct {
		gvr  schema.GroupVersionResource
		kind string
		spec map[string]any
	}{
		{logsGVR, "ClusterLogs", map[string]any{"selector": sel, "logs": []any{map[string]any{"logsFile": logFile, "follow": true}}}},
		{fwdGVR, "ClusterPortForward", map[string]any{"selector": sel, "forwards": []any{map[string]any{
			"ports": []any{int64(8000)}, "target": map[string]any{"address": "127.0.0.1", "port": int64(port)}}}}},
	}
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": o.kind,
			"metadata": map[string]any{"name": "engine-" + ns}, "spec": o.spec}}
		if err := c.dyn.Resource(o.gvr).Delete(ctx, "engine-"+ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if _, err := c.dyn.Resource(o.gvr).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s for namespace %s: %w", o.kind, ns, err)
		}
	}
	return nil
}

// Sim is a vllm-sim engine run in the test process: its output goes to
// LogFile in the CRI log format, as a kubelet writes a container's log.
type Sim struct {
	Port    int
	LogFile string
	done    chan int
	mu      sync.Mutex
	ready   time.Time // when its port first answered /health
}

// StartSim runs vllm-sim with args (vLLM's command line and --sim-* flags;
// --port is added) until the test ends.
func StartSim(t testing.TB, args ...string) *Sim {
	t.Helper()
	port, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	s := &Sim{Port: port, LogFile: filepath.Join(t.TempDir(), "engine.log"), done: make(chan int, 1)}
	f, err := os.Create(s.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mu := &sync.Mutex{} // one file, two streams
	stdout, stderr := &criWriter{f: f, stream: "stdout", mu: mu}, &criWriter{f: f, stream: "stderr", mu: mu}
	go func() {
		s.done <- sim.Main(ctx, append(append([]string(nil), args...), "--host", "127.0.0.1", "--port", strconv.Itoa(port)), map[string]string{}, stdout, stderr)
	}()
	go s.watchReady(ctx)
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
		stdout.flush()
		stderr.flush()
		_ = f.Close()
	})
	return s
}

// watchReady records when the engine first answers /health, as often as 5 ms.
func (s *Sim) watchReady(ctx context.Context) {
	client := &http.Client{Timeout: time.Second}
	url := "http://127.0.0.1:" + strconv.Itoa(s.Port) + "/health"
	for ctx.Err() == nil {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				s.mu.Lock()
				s.ready = time.Now()
				s.mu.Unlock()
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// ReadyAt is when the engine first answered /health (zero: not yet).
func (s *Sim) ReadyAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// criWriter writes each complete line as `<RFC3339Nano> <stream> F <line>`.
type criWriter struct {
	f      *os.File
	stream string
	mu     *sync.Mutex
	buf    bytes.Buffer
}

func (w *criWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimSuffix(string(w.buf.Next(i+1)), "\n")
		if _, err := fmt.Fprintf(w.f, "%s %s F %s\n", time.Now().UTC().Format(time.RFC3339Nano), w.stream, line); err != nil {
			return 0, err
		}
	}
}

func (w *criWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		fmt.Fprintf(w.f, "%s %s F %s\n", time.Now().UTC().Format(time.RFC3339Nano), w.stream, w.buf.String())
		w.buf.Reset()
	}
}

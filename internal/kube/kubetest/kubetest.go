// Package kubetest starts a real Kubernetes control plane for tests: etcd,
// kube-apiserver, kube-scheduler and kube-controller-manager (built by
// `make kube-testbin` into .cache/kube), and kwok, which plays the kubelet of
// fake nodes: a GPU node here, with nvidia.com/gpu in its capacity. Every
// component listens on loopback ports chosen at start; Start waits for each by
// polling and stops them all when the test ends.
//
// Tests that use it are built with -tags acceptance (make acceptance builds
// the binaries first); a missing binary fails the test with the command that
// builds it.
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vllmctl/vllmctl/internal/freeport"
)

// BinEnv names the variable that overrides where the binaries are.
const BinEnv = "VLLMCTL_KUBE_BIN"

// Cluster is a running control plane.
type Cluster struct {
	Dir        string // its files: kubeconfig, logs, etcd data
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	bin        string
	mu         sync.Mutex
	procs      []*exec.Cmd
	logs       []*lockedWriter
	stopping   bool
	exited     []string // components that ended before stop: waiting for them is vain
	dyn        dynamic.Interface
}

// BinDir finds the folder of the binaries: $VLLMCTL_KUBE_BIN, else
// .cache/kube at the module root.
func BinDir() (string, error) {
	if d := os.Getenv(BinEnv); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "tools", "kube")); err == nil {
				return filepath.Join(dir, ".cache", "kube"), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no module root with tools/kube above the working directory: set %s", BinEnv)
		}
		dir = parent
	}
}

// Options of Start.
type Options struct {
	// GPUNode adds a kwok node named "gpu-node" with this many nvidia.com/gpu
	// (none when 0).
	GPUNode int
}

// Start runs the control plane for the test and stops it at cleanup.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kwok"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s is missing in %s: run `make kube-testbin` (about 8 minutes cold) or set %s", b, bin, BinEnv)
		}
	}
	c := &Cluster{Dir: t.TempDir(), bin: bin}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			c.dumpLogs(t)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.start(ctx, o); err != nil {
		t.Fatalf("control plane: %v", err)
	}
	return c
}

func (c *Cluster) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	buf := &bytes.Buffer{}
	w := &lockedWriter{buf: buf}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, cmd)
	c.logs = append(c.logs, w)
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.stopping {
			c.exited = append(c.exited, fmt.Sprintf("%s exited (%v)", name, err))
		}
	}()
	return nil
}

type lockedWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 4<<20 { // keep the start and stop growing
		return len(p), nil
	}
	return w.buf.Write(p)
}

func (c *Cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		if p.Process != nil {
			_ = p.Process.Kill()
		}
	}
}

func (c *Cluster) dumpLogs(t testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.procs {
		s := c.logs[i].String() // under the writer's lock: a killed process's output may still be copied
		if len(s) > 8000 {
			s = s[len(s)-8000:]
		}
		t.Logf("--- %s (last lines)\n%s", filepath.Base(p.Path), s)
	}
}

// poll calls f until it returns nil, ctx ends, or a component exits (its
// log is dumped at cleanup).
func (c *Cluster) poll(ctx context.Context, what string, f func() error) error {
	var last error
	for {
		if last = f(); last == nil {
			return nil
		}
		c.mu.Lock()
		exited := slices.Clone(c.exited)
		c.mu.Unlock()
		if len(exited) > 0 {
			return fmt.Errorf("%s: not ready: %s", what, strings.Join(exited, "; "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not ready: %v", what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) start(ctx context.Context, o Options) error {
	ports := make([]int, 4)
	for i := range ports {
		p, err := freeport.Pick()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	etcdClient, etcdPeer, apiPort, kwokPort := ports[0], ports[1], ports[2], ports[3]
	clientURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := c.run("etcd", "--name=default", "--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL, "--unsafe-no-fsync", "--log-level=warn"); err != nil {
		return err
	}
	// The service-account signing key, a static admin token, the kubeconfig.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	keyFile := filepath.Join(c.Dir, "sa.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	token := "vllmctl-test-admin-token"
	tokens := filepath.Join(c.Dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	kcerts, err := kubeletCerts(c.Dir)
	if err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: admin, namespace: default}
current-context: test
`, server, token)
	if err := os.WriteFile(c.Kubeconfig, []byte(kc), 0o600); err != nil {
		return err
	}
	if err := c.run("kube-apiserver", "--etcd-servers="+clientURL, "--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort), "--cert-dir="+filepath.Join(c.Dir, "certs"),
		"--token-auth-file="+tokens, "--authorization-mode=RBAC",
		"--service-account-key-file="+keyFile, "--service-account-signing-key-file="+keyFile,
		"--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/24",
		// TaintNodesByCondition would taint new nodes not-ready, and only the
		// node lifecycle controller (not run here) lifts it
		"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition", "--allow-privileged=true",
		// a loopback advertise address is refused by the default (lease) endpoint reconciler
		"--endpoint-reconciler-type=none",
		// logs and port-forward go to kwok's kubelet server: its cert is signed by this CA
		"--kubelet-certificate-authority="+kcerts.ca, "--kubelet-preferred-address-types=InternalIP"); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 100, 200
	c.Config = cfg
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	c.Client = cs
	if err := c.poll(ctx, "kube-apiserver /readyz", func() error {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(body)) != "ok" {
			return fmt.Errorf("%s", body)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := c.poll(ctx, "namespace default", func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	if err := c.run("kube-scheduler", "--kubeconfig="+c.Kubeconfig, "--authentication-kubeconfig="+c.Kubeconfig,
		"--authorization-kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--secure-port=0"); err != nil {
		return err
	}
	if err := c.run("kube-controller-manager", "--kubeconfig="+c.Kubeconfig, "--authentication-kubeconfig="+c.Kubeconfig,
		"--authorization-kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--controllers=deployment-controller,replicaset-controller,garbage-collector-controller"); err != nil {
		return err
	}
	stages, _ := filepath.Glob(filepath.Join(c.bin, "stages", "*.yaml"))
	if len(stages) == 0 {
		return fmt.Errorf("no kwok stages in %s/stages: run `make kube-testbin`", c.bin)
	}
	if err := c.applyCRDs(ctx); err != nil {
		return err
	}
	// kwok's kubelet server (logs, port-forward) on 127.0.0.1:kwokPort, with
	// a cert the apiserver trusts; ClusterLogs and ClusterPortForward objects
	// say where each pod's log and port are (RouteNamespace).
	kp := strconv.Itoa(kwokPort)
	kwokArgs := []string{"--kubeconfig=" + c.Kubeconfig, "--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--node-ip=127.0.0.1",
		"--node-port=" + kp, "--server-address=127.0.0.1:" + kp,
		"--tls-cert-file=" + kcerts.cert, "--tls-private-key-file=" + kcerts.key,
		"--enable-crds=" + strings.Join(kwokCRDs, ",")}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "--config="+s)
	}
	if err := c.run("kwok", kwokArgs...); err != nil {
		return err
	}
	if o.GPUNode > 0 {
		return c.AddGPUNode(ctx, "gpu-node", o.GPUNode)
	}
	return nil
}

// AddGPUNode creates a kwok node with gpus nvidia.com/gpu and waits until it is Ready.
func (c *Cluster) AddGPUNode(ctx context.Context, name string, gpus int) error {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("512Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
		"nvidia.com/gpu":      *resource.NewQuantity(int64(gpus), resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "type": "kwok", "nvidia.com/gpu.present": "true"}},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res},
	}
	created, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if _, ok := created.Status.Allocatable["nvidia.com/gpu"]; !ok { // status dropped on create: set it
		created.Status.Capacity, created.Status.Allocatable = res, res
		if _, err := c.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return c.poll(ctx, "node "+name+" Ready", func() error {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				if len(n.Spec.Taints) > 0 {
					return fmt.Errorf("taints %v", n.Spec.Taints)
				}
				if q := n.Status.Allocatable["nvidia.com/gpu"]; q.Value() != int64(gpus) {
					return fmt.Errorf("allocatable nvidia.com/gpu = %s", q.String())
				}
				return nil
			}
		}
		return fmt.Errorf("conditions %v", n.Status.Conditions)
	})
}

// GPUProfile is a compose file whose one vLLM engine asks gpus GPUs (TP of
// that size) and keeps its cache on a hostPath: the test cluster has no
// storage provisioner.
func GPUProfile(gpus int) string {
	return fmt.Sprintf(`services:
  vllm:
    image: vllm/vllm-openai:v0.11.0
    command: ["--model", "Qwen/Qwen3-8B", "--tensor-parallel-size", "%d"]
    deploy:
      resources:
        reservations:
          devices: [{driver: nvidia, count: %d, capabilities: [gpu]}]
    x-vllmctl:
      kubernetes:
        hf_cache: {host_path: /var/cache/hf}
`, gpus, gpus)
}

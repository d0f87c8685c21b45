package kube

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vllmctl/vllmctl/internal/monitor"
)

// ContainerName is the engine's container in every pod vllmctl writes.
const ContainerName = "vllm"

// EngineFailure is an engine that started on the cluster and failed before
// it answered, as the startup-phase monitor saw it (the same diagnosis, fix
// and last log lines as on Docker).
type EngineFailure struct {
	Profile string
	Pod     string
	Result  monitor.Result
}

func (f *EngineFailure) Error() string {
	s := fmt.Sprintf("%s (pod %s): %s in phase %s", f.Profile, f.Pod, f.Result.Outcome, f.Result.Phase)
	if f.Result.Diagnosis != "" {
		s += ": " + f.Result.Diagnosis
	}
	if fix := f.Result.ConcreteFix(); fix != "" {
		s += "\n  fix: " + fix
	}
	return s
}

// FollowOptions tune how Up follows an engine once its pod runs: container
// logs through the API into the startup-phase monitor, probes through a
// port-forward to the pod.
type FollowOptions struct {
	Config       *rest.Config // the client's config, for the port-forward; nil: only the rollout is followed
	Completion   bool         // a tiny completion before ready
	StallLoading time.Duration
	StallOther   time.Duration
	OnEvent      func(monitor.Event)
	// OnResult receives each engine's monitor result (ready or not).
	OnResult func(profile string, r monitor.Result)
}

// followEngine waits for the engine's pod of the current template to start,
// then runs the monitor over its log stream and a port-forward prober, while
// the rollout is still diagnosed (a crash loop, an OOM kill). Ready: the
// monitor answered and the Deployment is ready.
func followEngine(ctx context.Context, cs kubernetes.Interface, e *Engine, ns string, ro RolloutOptions, fo FollowOptions) error {
	pod, err := waitStarted(ctx, cs, ns, e.Name, ro)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		streamLogs(ctx, cs, ns, pod.Name, fo.OnEvent, e.Profile, func(l string) {
			select {
			case lines <- l:
			case <-ctx.Done():
			}
		})
	}()
	exits := make(chan monitor.Exit, 1)
	diagc := make(chan error, 1)
	go watchPod(ctx, cs, ns, e.Name, pod, ro.Interval, exits, diagc)

	d := &podDialer{cfg: fo.Config, cs: cs, ns: ns, pod: pod.Name, port: enginePort(e)}
	client := d.httpClient(10 * time.Second)
	defer client.CloseIdleConnections() // the forwarded connections to the API server
	prober := &monitor.HTTPProber{BaseURL: d.baseURL(), Client: client}
	served := ""
	if e.src != nil {
		prober.APIKey = e.src.Args.APIKey
		if names := e.src.ServedNames(); len(names) > 0 {
			served = names[0]
		}
	}
	if len(e.served) > 0 {
		served = e.served[0]
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	diagnosed := make(chan error, 1)
	go func() {
		select {
		case err := <-diagc:
			diagnosed <- err
			wcancel()
		case <-wctx.Done():
		}
	}()
	res := monitor.Watch(wctx, lines, exits, prober, monitor.Options{Profile: e.Profile, ServedName: served, Completion: fo.Completion,
		StallLoading: fo.StallLoading, StallOther: fo.StallOther, OnEvent: fo.OnEvent})
	wcancel()
	if res.Outcome == monitor.Canceled && ctx.Err() == nil {
		return <-diagnosed // the rollout was diagnosed while the engine started
	}
	if fo.OnResult != nil {
		fo.OnResult(e.Profile, res)
	}
	switch res.Outcome {
	case monitor.Ready:
		return WaitReady(ctx, cs, e.Name, ro)
	case monitor.Canceled:
		return fmt.Errorf("%s: %w", e.Profile, ctx.Err())
	}
	return &EngineFailure{Profile: e.Profile, Pod: pod.Name, Result: res}
}

func enginePort(e *Engine) int {
	for _, c := range e.Deployment.Spec.Template.Spec.Containers {
		if c.Name == ContainerName {
			for _, p := range c.Ports {
				return int(p.ContainerPort)
			}
		}
	}
	return 8000
}

// waitStarted follows the rollout until a pod of the Deployment's current
// template has its engine container running (or a diagnosis, or ready).
func waitStarted(ctx context.Context, cs kubernetes.Interface, ns, name string, o RolloutOptions) (*corev1.Pod, error) {
	if o.Interval == 0 {
		o.Interval = 250 * time.Millisecond
	}
	last := ""
	for {
		st, err := rolloutState(ctx, cs, ns, name)
		if err != nil {
			return nil, err
		}
		if st.msg != last && o.Progress != nil {
			o.Progress(name, st.msg)
		}
		last = st.msg
		if st.diag != nil {
			return nil, st.diag
		}
		for i := range st.pods {
			p := &st.pods[i]
			for _, c := range p.Status.ContainerStatuses {
				if c.Name == ContainerName && (c.State.Running != nil || c.State.Terminated != nil) {
					return p, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("deployment %s/%s: no engine container started (%s): %w", ns, name, last, ctx.Err())
		case <-time.After(o.Interval):
		}
	}
}

// watchPod reports the engine container's exits and restarts, and a rollout
// diagnosis (CrashLoopBackOff, OOMKilled), until ctx ends.
func watchPod(ctx context.Context, cs kubernetes.Interface, ns, name string, pod *corev1.Pod, every time.Duration, exits chan<- monitor.Exit, diag chan<- error) {
	if every == 0 {
		every = 250 * time.Millisecond
	}
	restarts := int32(-1)
	for _, c := range pod.Status.ContainerStatuses {
		if c.Name == ContainerName {
			restarts = c.RestartCount
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		st, err := rolloutState(ctx, cs, ns, name)
		if err != nil {
			continue // a passing API error: the next look decides
		}
		if st.diag != nil {
			diag <- st.diag
			return
		}
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		for _, c := range p.Status.ContainerStatuses {
			if c.Name != ContainerName {
				continue
			}
			switch {
			case c.RestartCount > restarts && restarts >= 0:
				exits <- monitor.Exit{Restart: true, Restarts: int(c.RestartCount)}
				return
			case c.State.Terminated != nil:
				exits <- monitor.Exit{Code: int(c.State.Terminated.ExitCode)}
				return
			}
		}
	}
}

// streamLogs follows the engine container's log through the API from its
// first line; a log that cannot be read yet is asked again until ctx ends.
func streamLogs(ctx context.Context, cs kubernetes.Interface, ns, pod string, onEvent func(monitor.Event), profile string, fn func(string)) {
	warned := false
	for ctx.Err() == nil {
		err := Logs(ctx, cs, ns, pod, LogOptions{Follow: true}, fn)
		if err == nil || ctx.Err() != nil {
			return
		}
		if !warned && onEvent != nil {
			warned = true
			onEvent(monitor.Event{Time: time.Now(), Profile: profile, Kind: "warning", Message: "container log not readable yet: " + err.Error()})
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// LogOptions choose which lines Logs reads.
type LogOptions struct {
	Follow bool
	Since  time.Time // zero: from the first line
}

// Logs reads a pod's engine container log through the API (the kubelet's
// container log), one line at a time, until it ends or, with Follow, ctx ends.
func Logs(ctx context.Context, cs kubernetes.Interface, ns, pod string, o LogOptions, fn func(string)) error {
	lo := &corev1.PodLogOptions{Container: ContainerName, Follow: o.Follow}
	if !o.Since.IsZero() {
		t := metav1.NewTime(o.Since)
		lo.SinceTime = &t
	}
	rc, err := cs.CoreV1().Pods(ns).GetLogs(pod, lo).Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of pod %s/%s: %w", ns, pod, err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		fn(sc.Text())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		return fmt.Errorf("logs of pod %s/%s: %w", ns, pod, err)
	}
	return nil
}

// EnginePod is the newest pod of an engine's Deployment (its current
// template's when there is one): the pod whose log `logs` reads.
func EnginePod(ctx context.Context, cs kubernetes.Interface, ns, name string) (*corev1.Pod, error) {
	st, err := rolloutState(ctx, cs, ns, name)
	if err != nil {
		return nil, err
	}
	pods := st.pods
	if len(pods) == 0 {
		return nil, fmt.Errorf("deployment %s/%s has no pod (vllmctl status --target kubernetes says why)", ns, name)
	}
	best := &pods[0]
	for i := range pods {
		if pods[i].CreationTimestamp.After(best.CreationTimestamp.Time) || strings.Compare(pods[i].Name, best.Name) > 0 && pods[i].CreationTimestamp.Equal(&best.CreationTimestamp) {
			best = &pods[i]
		}
	}
	return best, nil
}

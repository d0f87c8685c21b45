package deploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vllmctl/vllmctl/internal/gpu"
	"github.com/vllmctl/vllmctl/internal/monitor"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/resolve"
	"github.com/vllmctl/vllmctl/internal/runtime"
	"github.com/vllmctl/vllmctl/internal/state"
)

// DownOptions configure Down.
type DownOptions struct {
	GPURelease time.Duration // wait at most this long for GPU memory to be released (nvidia-smi). Default 60s
	Runner     gpu.Runner    // nil: nvidia-smi is run when present
}

// Down removes a profile's containers (orphans included) or engine process,
// where its last recorded deploy runs, and waits until the GPU memory they
// held is released, so the next start does not run out of memory.
func (d *Deployer) Down(ctx context.Context, profile string, o DownOptions) error {
	loc, err := d.locate(ctx, profile)
	if err != nil {
		return err
	}
	spec := d.baseSpec(profile)
	if loc.hasRec && loc.rec.File != "" && exists(d.Store.Abs(loc.rec.File)) {
		spec.File = d.Store.Abs(loc.rec.File)
	} else if pr, err := d.P.Profile(profile); err == nil {
		r, err := resolve.Resolve(d.P, pr, resolve.ResolveOptions{})
		if err != nil {
			return err
		}
		rel, err := d.Store.SaveResolved(profile, "down", r.YAML)
		if err != nil {
			return err
		}
		spec.File = d.Store.Abs(rel)
	}
	unlock, err := d.Store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	var gpuIDs []string
	if pr, err := d.P.Profile(profile); err == nil {
		for _, e := range pr.Engines() {
			gpuIDs = append(gpuIDs, e.GPUs.IDs...)
		}
	}
	if err := loc.be.Remove(ctx, spec); err != nil {
		return err
	}
	return waitGPURelease(ctx, gpuIDs, o)
}

// waitGPURelease polls nvidia-smi until no compute process holds the GPUs.
func waitGPURelease(ctx context.Context, ids []string, o DownOptions) error {
	run := o.Runner
	if run == nil {
		if _, err := exec.LookPath("nvidia-smi"); err != nil {
			return nil // no GPU tooling here: nothing to wait for
		}
		run = func(ctx context.Context, name string, args ...string) (string, error) {
			out, err := exec.CommandContext(ctx, name, args...).Output()
			return string(out), err
		}
	}
	limit := o.GPURelease
	if limit == 0 {
		limit = 60 * time.Second
	}
	deadline := time.Now().Add(limit)
	for {
		gpus, err := gpu.Discover(ctx, run)
		if err != nil {
			return nil
		}
		busy := false
		for _, g := range gpus {
			if len(ids) > 0 && !slices.Contains(ids, fmt.Sprint(g.Index)) && !slices.Contains(ids, g.UUID) {
				continue
			}
			busy = busy || len(g.Processes) > 0
		}
		if !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GPU memory still held after %s (a leftover worker?): see 'vllmctl gpus'", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ProfileStatus is one profile as status shows it.
type ProfileStatus struct {
	Profile     string   `json:"profile"`
	State       string   `json:"state"`  // running, exited, restarting, not deployed
	Health      string   `json:"health"` // ready, not ready (reason), unknown
	ReadySince  string   `json:"ready_since,omitempty"`
	Restarts    int      `json:"restarts"`
	Served      []string `json:"served_names,omitempty"`
	HostPort    int      `json:"host_port,omitempty"`
	Runtime     string   `json:"runtime,omitempty"`
	Hash        string   `json:"config_hash,omitempty"`
	Drift       bool     `json:"drift"`
	DriftReason string   `json:"drift_reason,omitempty"`
	Running     *float64 `json:"requests_running,omitempty"`
	Waiting     *float64 `json:"requests_waiting,omitempty"`
	KVUsage     *float64 `json:"kv_cache_usage,omitempty"`
	GenTokens   *float64 `json:"generation_tokens_total,omitempty"`
	GenPerSec   *float64 `json:"generation_tokens_per_second,omitempty"`
	GPUs        []string `json:"gpus,omitempty"`
	Error       string   `json:"error,omitempty"`
	// Err is Error as an error (state.ErrCorrupt for a damaged runtime record).
	Err error `json:"-"`
}

// Status reports profiles, probing them concurrently.
//
// Each profile is looked for where its last recorded deploy runs (with
// Runtimes); one whose runtime cannot be reached is in state "unknown" with
// the reason in Error.
func (d *Deployer) Status(ctx context.Context, profiles []string, prev map[string]ProfileStatus, interval time.Duration) ([]ProfileStatus, error) {
	insts, unreachable, err := d.Instances(ctx)
	if err != nil {
		return nil, err
	}
	if len(profiles) == 0 {
		seen := map[string]bool{}
		for _, pr := range d.P.Profiles {
			seen[pr.Name] = true
		}
		for _, in := range insts {
			seen[in.Profile] = true
		}
		for n := range unreachable {
			seen[n] = true
		}
		profiles = slices.Sorted(maps.Keys(seen))
	}
	out := make([]ProfileStatus, len(profiles))
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 2 * time.Second}
	for i, name := range profiles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = d.statusOne(ctx, name, insts, client, prev[name], interval)
			if err := unreachable[name]; err != nil {
				out[i].State, out[i].Health, out[i].Error, out[i].Err = "unknown", "-", err.Error(), err
			}
		}()
	}
	wg.Wait()
	return out, nil
}

func (d *Deployer) statusOne(ctx context.Context, name string, insts []runtime.Instance, client *http.Client, prev ProfileStatus, interval time.Duration) ProfileStatus {
	st := ProfileStatus{Profile: name, State: "not deployed", Health: "-"}
	var inst *runtime.Instance
	for i := range insts {
		if insts[i].Profile == name {
			inst = &insts[i]
		}
	}
	pr, perr := d.P.Profile(name)
	var eng *project.Service
	if perr == nil && len(pr.Engines()) > 0 {
		eng = pr.Engines()[0]
		st.Served = eng.Args.ServedNames()
		st.GPUs = append(st.GPUs, eng.GPUs.IDs...)
	}
	if inst == nil {
		return st
	}
	st.State, st.Restarts, st.HostPort, st.Runtime, st.Hash = string(inst.State), inst.RestartCount, inst.HostPort, inst.Runtime, inst.Hash
	// Drift: the files now against the hash on the running engine.
	if perr != nil {
		st.Drift, st.DriftReason = true, "the profile file is gone"
	} else if r, err := resolve.Resolve(d.P, pr, resolve.ResolveOptions{}); err != nil {
		st.Drift, st.DriftReason = true, "the profile no longer loads"
	} else if r.Hash != inst.Hash {
		st.Drift, st.DriftReason = true, fmt.Sprintf("files changed since deploy (running %s, files %s): run 'vllmctl up %s'", inst.Hash, r.Hash, name)
	}
	if inst.State != runtime.Running || inst.HostPort == 0 {
		if inst.State != runtime.Running {
			st.Health = "down"
		}
		return st
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", inst.HostPort)
	p := &monitor.HTTPProber{BaseURL: base, Client: client}
	if eng != nil {
		p.APIKey = eng.Args.APIKey
	}
	if err := p.Health(ctx); err != nil {
		st.Health = "not ready (" + shortErr(err) + ")"
	} else {
		st.Health = "ready"
		if last, ok := d.Store.Last(name); ok && last.Outcome == state.Ready {
			st.ReadySince = last.Time.Add(time.Duration(last.ReadySecs * float64(time.Second))).Local().Format("2006-01-02 15:04:05")
		}
	}
	if m, err := scrape(ctx, client, base+"/metrics"); err == nil {
		st.Running, st.Waiting = m["vllm:num_requests_running"], m["vllm:num_requests_waiting"]
		st.KVUsage = m["vllm:kv_cache_usage_perc"]
		if st.KVUsage == nil {
			st.KVUsage = m["vllm:gpu_cache_usage_perc"] // before 0.10
		}
		st.GenTokens = m["vllm:generation_tokens_total"]
		if st.GenTokens != nil && prev.GenTokens != nil && interval > 0 {
			v := (*st.GenTokens - *prev.GenTokens) / interval.Seconds()
			st.GenPerSec = &v
		}
	} else if st.Error == "" {
		st.Error = "metrics: " + shortErr(err)
	}
	return st
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s, "connect") {
		return s[i+2:]
	}
	return s
}

// scrape reads /metrics and sums each vllm series over its labels (engine).
func scrape(ctx context.Context, c *http.Client, url string) (map[string]*float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	out := map[string]*float64{}
	for name, f := range fams {
		sum := 0.0
		for _, m := range f.Metric {
			switch {
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			}
		}
		v := sum
		out[strings.TrimSuffix(name, "_total")+suffix(name)] = &v
	}
	return out, nil
}

func suffix(name string) string {
	if strings.HasSuffix(name, "_total") {
		return "_total"
	}
	return ""
}

// Logs streams a profile's engine log, from where its last recorded deploy runs.
func (d *Deployer) Logs(ctx context.Context, profile string, follow bool, since time.Time, w func(string)) error {
	loc, err := d.locate(ctx, profile)
	if err != nil {
		return err
	}
	insts, err := loc.be.List(ctx, d.P.Config.ProjectName, profile)
	if err != nil {
		return err
	}
	if len(insts) == 0 {
		where := ""
		if loc.hasRec {
			where = fmt.Sprintf(" on the %s runtime of its last deploy (%s)", loc.rec.Where(), loc.rec.ID)
		}
		return fmt.Errorf("profile %q is not deployed%s (run 'vllmctl up %s')", profile, where, profile)
	}
	rc, err := loc.be.Logs(ctx, insts[len(insts)-1], follow, since)
	if err != nil {
		return err
	}
	defer rc.Close()
	err = ReadLines(rc, w)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// History returns past deploys, newest first.
func (d *Deployer) History(profile string) ([]state.Record, error) {
	h, err := d.Store.History(profile)
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return h, err
}

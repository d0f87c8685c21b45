package runtime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Docker applies compose files with the Compose CLI and observes through the Engine API.
type Docker struct {
	CLI    ComposeCLI
	Client *client.Client
}

// NewDocker connects to the Engine (DOCKER_HOST and friends honoured).
func NewDocker(ctx context.Context, prefer string) (*Docker, error) {
	cli, err := DetectCompose(ctx, prefer)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker engine: %w", err)
	}
	if _, err := c.Ping(ctx, client.PingOptions{}); err != nil {
		return nil, fmt.Errorf("docker engine: %w (is the daemon running? use --runtime process without Docker)", err)
	}
	return &Docker{CLI: cli, Client: c}, nil
}

// Name implements Backend.
func (d *Docker) Name() string {
	if d.CLI.V2() {
		return "docker (compose " + d.CLI.Version + ")"
	}
	return "docker (docker-compose " + d.CLI.Version + ")"
}

// Commands implements Backend.
func (d *Docker) Commands(spec Spec) [][]string {
	return [][]string{d.CLI.args(spec, "up", "-d", "--force-recreate", "--remove-orphans")}
}

// Apply implements Backend.
func (d *Docker) Apply(ctx context.Context, spec Spec) error {
	for _, c := range d.Commands(spec) {
		if err := run(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Remove implements Backend: containers and orphans of the profile's compose project.
func (d *Docker) Remove(ctx context.Context, spec Spec) error {
	return run(ctx, d.CLI.args(spec, "down", "--remove-orphans", "--timeout", "10"))
}

// List implements Backend, by label.
func (d *Docker) List(ctx context.Context, project, profile string) ([]Instance, error) {
	f := make(client.Filters).Add("label", LabelProject+"="+project)
	if profile != "" {
		f.Add("label", LabelProfile+"="+profile)
	}
	res, err := d.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Instance
	for _, s := range res.Items {
		ins, err := d.Client.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if err != nil {
			continue
		}
		c := ins.Container
		inst := Instance{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Runtime: "docker", RestartCount: c.RestartCount}
		if c.Config != nil {
			inst.Profile, inst.Service, inst.Hash = c.Config.Labels[LabelProfile], c.Config.Labels[LabelService], c.Config.Labels[LabelHash]
		}
		if c.State != nil {
			inst.State, inst.ExitCode = State(c.State.Status), c.State.ExitCode
			inst.StartedAt, _ = time.Parse(time.RFC3339Nano, c.State.StartedAt)
		}
		private := 0
		for _, p := range s.Ports {
			if p.PublicPort != 0 && inst.HostPort == 0 {
				inst.HostPort, private = int(p.PublicPort), int(p.PrivatePort)
			}
		}
		if c.NetworkSettings != nil && private != 0 {
			for _, n := range slices.Sorted(maps.Keys(c.NetworkSettings.Networks)) {
				if ep := c.NetworkSettings.Networks[n]; ep != nil && ep.IPAddress.IsValid() {
					inst.InNetwork = net.JoinHostPort(ep.IPAddress.String(), strconv.Itoa(private))
					break
				}
			}
		}
		out = append(out, inst)
	}
	return out, nil
}

// Logs implements Backend: the container's output, demultiplexed.
func (d *Docker) Logs(ctx context.Context, inst Instance, follow bool, since time.Time) (io.ReadCloser, error) {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow}
	if !since.IsZero() {
		opts.Since = since.Format(time.RFC3339Nano)
	}
	rc, err := d.Client.ContainerLogs(ctx, inst.ID, opts)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReader(rc)
		head, _ := br.Peek(1)
		var err error
		if len(head) == 1 && head[0] <= 2 { // multiplexed: no TTY
			_, err = stdcopy.StdCopy(pw, pw, br)
		} else {
			_, err = io.Copy(pw, br)
		}
		rc.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Exits implements Backend with the Engine's events (die, restart).
func (d *Docker) Exits(ctx context.Context, inst Instance) <-chan Exit {
	out := make(chan Exit, 4)
	go func() {
		ev := d.Client.Events(ctx, client.EventsListOptions{Filters: make(client.Filters).Add("container", inst.ID)})
		// It may have stopped before the subscription: look once.
		if ins, err := d.Client.ContainerInspect(ctx, inst.ID, client.ContainerInspectOptions{}); err == nil && ins.Container.State != nil {
			switch st := ins.Container.State; {
			case st.Restarting:
				out <- Exit{Code: st.ExitCode, Restart: true, Restarts: ins.Container.RestartCount}
			case !st.Running && (st.Status == "exited" || st.Status == "dead"):
				out <- Exit{Code: st.ExitCode}
				return
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-ev.Err:
				return
			case m := <-ev.Messages:
				switch m.Action {
				case "die":
					code := 0
					fmt.Sscan(m.Actor.Attributes["exitCode"], &code)
					ins, err := d.Client.ContainerInspect(ctx, inst.ID, client.ContainerInspectOptions{})
					if err == nil && ins.Container.State != nil && ins.Container.State.Restarting {
						out <- Exit{Code: code, Restart: true, Restarts: ins.Container.RestartCount + 1}
						continue
					}
					out <- Exit{Code: code}
				case "restart":
					out <- Exit{Restart: true}
				}
			}
		}
	}()
	return out
}

// Foreign is a running container vllmctl did not start (no vllmctl labels)
// whose image looks like vLLM's, with the command line it runs.
type Foreign struct {
	Name  string
	Image string
	Argv  []string // entrypoint + command
}

// Foreign lists running vLLM-looking containers without vllmctl labels, so
// audit can tell which file they came from by their command line.
func (d *Docker) Foreign(ctx context.Context) ([]Foreign, error) {
	res, err := d.Client.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return nil, err
	}
	var out []Foreign
	for _, s := range res.Items {
		if _, ours := s.Labels[LabelProject]; ours || !strings.Contains(strings.ToLower(s.Image), "vllm") {
			continue
		}
		ins, err := d.Client.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if err != nil || ins.Container.Config == nil {
			continue
		}
		c := ins.Container.Config
		out = append(out, Foreign{Name: strings.TrimPrefix(ins.Container.Name, "/"), Image: s.Image,
			Argv: append(append([]string(nil), c.Entrypoint...), c.Cmd...)})
	}
	return out, nil
}

// Holder is the container that holds a container name.
type Holder struct {
	ID      string
	Name    string
	Image   string
	State   string
	Project string // its dev.vllmctl.project label; "" when vllmctl did not start it
	Profile string // its dev.vllmctl.profile label
}

// ContainerNamed returns the container (running or not) named exactly name.
func (d *Docker) ContainerNamed(ctx context.Context, name string) (Holder, bool, error) {
	f := make(client.Filters).Add("name", "^/"+regexp.QuoteMeta(name)+"$")
	res, err := d.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return Holder{}, false, fmt.Errorf("list containers: %w", err)
	}
	for _, s := range res.Items {
		for _, n := range s.Names {
			if strings.TrimPrefix(n, "/") == name {
				return Holder{ID: s.ID, Name: name, Image: s.Image, State: string(s.State),
					Project: s.Labels[LabelProject], Profile: s.Labels[LabelProfile]}, true, nil
			}
		}
	}
	return Holder{}, false, nil
}

package cli

import (
	"context"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/vllmctl/vllmctl/internal/check"
)

// dockerHost asks the Docker daemon (DOCKER_HOST, or the default socket) what
// host it runs on, so that bind sources are judged on the daemon's OS: Docker
// Desktop shares Windows or macOS paths into its VM, a Linux daemon sees its
// own files. It gives an unknown host when no daemon answers within 2 s.
func dockerHost(ctx context.Context) check.HostView {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.New(client.FromEnv)
	if err != nil {
		return check.HostView{}
	}
	defer c.Close()
	res, err := c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return check.HostView{}
	}
	info := res.Info
	return check.HostView{
		Known:   true,
		OS:      info.OSType,
		Desktop: strings.Contains(info.OperatingSystem, "Docker Desktop"),
		Name:    info.OperatingSystem,
	}
}

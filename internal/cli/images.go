package cli

import (
	"context"
	"time"

	"github.com/moby/moby/client"

	"github.com/vllmctl/vllmctl/internal/project"
)

// imageReadTimeout bounds what reading local images may add to a command.
const imageReadTimeout = 3 * time.Second

// dockerImages reads local images through the Docker Engine API (never pulls).
type dockerImages struct{ c *client.Client }

func (d dockerImages) Image(ctx context.Context, ref string) (project.ImageFacts, bool) {
	res, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		return project.ImageFacts{}, false
	}
	var f project.ImageFacts
	if res.Config != nil {
		f.Env, f.Labels = res.Config.Env, res.Config.Labels
	}
	if t, err := time.Parse(time.RFC3339Nano, res.Created); err == nil {
		f.Created = t
	}
	return f, true
}

// readImages settles the release of engines whose files name none
// (vllm/vllm-openai:latest, a custom image) from the images Docker holds
// here, best effort: without Docker, or without the image, they stay unknown.
func (e *env) readImages(p *project.Project) {
	if !p.WantsImages() {
		return
	}
	c, err := client.New(client.FromEnv)
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(e.ctx, imageReadTimeout)
	defer cancel()
	p.ReadImages(ctx, dockerImages{c})
}

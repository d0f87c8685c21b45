package cli

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/vllmctl/vllmctl/internal/project"
)

// imageReadTimeout bounds one image read; after a failed or slow one, reads
// answer "no image" at once for imageRetryAfter (a long-running serve tries
// again then).
const (
	imageReadTimeout = 1500 * time.Millisecond
	imageRetryAfter  = time.Minute
)

// dockerImages reads local images through the Docker Engine API (it never
// pulls). The client is made on the first read.
type dockerImages struct {
	mu        sync.Mutex
	c         *client.Client
	downUntil time.Time
}

func (d *dockerImages) Image(ctx context.Context, ref string) (project.ImageFacts, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Now().Before(d.downUntil) {
		return project.ImageFacts{}, false
	}
	if d.c == nil {
		c, err := client.New(client.FromEnv)
		if err != nil {
			d.downUntil = time.Now().Add(imageRetryAfter)
			return project.ImageFacts{}, false
		}
		d.c = c
	}
	ctx, cancel := context.WithTimeout(ctx, imageReadTimeout)
	defer cancel()
	res, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		if client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			d.downUntil = time.Now().Add(imageRetryAfter)
		}
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

// images is the reader every project load of this command shares: engines
// whose files name no release (vllm/vllm-openai:latest, a custom image) take
// it from the images Docker holds here, best effort — without Docker, or
// without the image, they stay unknown.
func (e *env) images() project.ImageReader {
	if e.imageReader == nil {
		e.imageReader = &dockerImages{}
	}
	return e.imageReader
}

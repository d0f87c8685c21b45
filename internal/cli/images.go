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
// again then). A read is kept for imageRetryAfter too: serve reloads the
// project every few seconds, and audit once per archived file.
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
	seen      map[string]imageRead
}

type imageRead struct {
	facts project.ImageFacts
	ok    bool
	at    time.Time
}

func (d *dockerImages) Image(ctx context.Context, ref string) (project.ImageFacts, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.seen[ref]; ok && time.Since(r.at) < imageRetryAfter {
		return r.facts, r.ok
	}
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
			return project.ImageFacts{}, false
		}
		d.keep(ref, project.ImageFacts{}, false) // not on this machine
		return project.ImageFacts{}, false
	}
	var f project.ImageFacts
	if res.Config != nil {
		f.Env, f.Labels = res.Config.Env, res.Config.Labels
	}
	if t, err := time.Parse(time.RFC3339Nano, res.Created); err == nil {
		f.Created = t
	}
	d.keep(ref, f, true)
	return f, true
}

func (d *dockerImages) keep(ref string, f project.ImageFacts, ok bool) {
	if d.seen == nil {
		d.seen = map[string]imageRead{}
	}
	d.seen[ref] = imageRead{f, ok, time.Now()}
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

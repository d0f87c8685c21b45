package project

import (
	"context"
	"strings"
	"time"

	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

// Where a local image tells an engine's release (ReadImages).
const (
	// VersionFromImageEnv: the image's VLLM_IMAGE_TAG environment variable or
	// ai.vllm.image.tag label, which vLLM's own images carry from v0.21 (vLLM
	// PR #40653) and images built FROM them inherit.
	VersionFromImageEnv VersionSource = "local image's VLLM_IMAGE_TAG"
	// VersionFromImageDate: the creation day of a local vllm/vllm-openai
	// image that carries no tag, against the days releases were published
	// (flagdb.ReleaseOn).
	VersionFromImageDate VersionSource = "local image's creation date"
)

// ImageFacts is what the container engine knows of a local image.
type ImageFacts struct {
	Env     []string // KEY=VALUE, as the image config lists them
	Labels  map[string]string
	Created time.Time
}

// ImageReader reads an image already on this machine (it never pulls); ok is
// false when there is none or the engine cannot be reached.
type ImageReader interface {
	Image(ctx context.Context, ref string) (ImageFacts, bool)
}

// ReleaseOfImage is the vLLM release a local image holds: the tag its
// VLLM_IMAGE_TAG (or ai.vllm.image.tag label) names, else, for an image of
// vLLM's own repository that is not built here, the release published when
// it was created. ok is false when neither tells (a nightly, a local build, a
// day the release table does not cover, another repository).
func ReleaseOfImage(ref string, f ImageFacts, built bool) (v flagdb.Version, from VersionSource, detail string, ok bool) {
	tag := f.Labels["ai.vllm.image.tag"]
	for _, kv := range f.Env {
		if val, found := strings.CutPrefix(kv, "VLLM_IMAGE_TAG="); found {
			tag = val
		}
	}
	if tag != "" {
		if v, pin := flagdb.ImageVersion(tag); pin == flagdb.Pinned {
			return v, VersionFromImageEnv, vllm.ShowUnknown(ref) + " = " + tag, true
		}
		if v, ok := flagdb.ParseVersion(tag); ok { // a bare "v0.25.0"
			return v, VersionFromImageEnv, vllm.ShowUnknown(ref) + " = " + tag, true
		}
		return flagdb.Version{}, "", "", false // a nightly or local build says so: no date guess
	}
	if built || !OfficialCUDAImage(ref) || !movingTag(ref) || f.Created.IsZero() {
		return flagdb.Version{}, "", "", false
	}
	if v, ok := flagdb.ReleaseOn(f.Created); ok {
		return v, VersionFromImageDate, vllm.ShowUnknown(ref) + ", created " + f.Created.UTC().Format(time.DateOnly), true
	}
	return flagdb.Version{}, "", "", false
}

// movingTag reports whether ref names vLLM's released image by a tag that
// follows the releases — none, latest, latest-<variant> — or by digest only:
// the only images a creation day can date (a nightly or a local build under
// another tag is not a release).
func movingTag(ref string) bool {
	if at := strings.IndexByte(ref, '@'); at >= 0 {
		return !strings.Contains(ref[:at][strings.LastIndexByte(ref[:at], '/')+1:], ":")
	}
	name := ref[strings.LastIndexByte(ref, '/')+1:]
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return true
	}
	tag := name[i+1:]
	return tag == "latest" || strings.HasPrefix(tag, "latest-")
}

// WantsImages reports whether an engine names no release but an image that
// could tell it (ReadImages has work to do).
func (p *Project) WantsImages() bool {
	for _, s := range p.engines() {
		if s.Version.Pin != flagdb.Pinned && s.Config.Image != "" && !vllm.HasUnknown(s.Config.Image) {
			return true
		}
	}
	return false
}

// ReadImages settles, from the local images r reads, the release of engines
// whose image tag, Dockerfile, x-vllmctl.vllm_version and vllm_version
// setting name none (vllm/vllm-openai:latest, a custom image), and applies
// that release's defaults as a pinned tag would. Each image is read once.
// It returns the engines settled.
func (p *Project) ReadImages(ctx context.Context, r ImageReader) int {
	type read struct {
		f  ImageFacts
		ok bool
	}
	seen := map[string]read{}
	n := 0
	for _, s := range p.engines() {
		ref := s.Config.Image
		if s.Version.Pin == flagdb.Pinned || ref == "" || vllm.HasUnknown(ref) {
			continue
		}
		got, done := seen[ref]
		if !done {
			got.f, got.ok = r.Image(ctx, ref)
			seen[ref] = got
		}
		if !got.ok {
			continue
		}
		built := s.Dockerfile != nil || s.Config.Build != nil
		if v, from, detail, ok := ReleaseOfImage(ref, got.f, built); ok {
			s.Version = EngineVersion{Version: v, Pin: flagdb.Pinned, From: from, Ref: detail}
			s.Args.AtRelease(v)
			n++
		} else if s.Version.From == VersionAssumedNewest {
			// The image is here and runs as it is (compose pulls only a
			// missing image): the newest release is no longer the guess.
			s.Version = EngineVersion{Ref: ref}
			s.Args.AtRelease(flagdb.Version{})
		}
	}
	return n
}

// engines lists the services that run vLLM, in every profile.
func (p *Project) engines() []*Service {
	var out []*Service
	for _, pr := range p.Profiles {
		for _, s := range pr.Services {
			if s.Engine {
				out = append(out, s)
			}
		}
	}
	return out
}

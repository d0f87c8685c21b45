package project

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/vllmctl/vllmctl/internal/vllm"
	"github.com/vllmctl/vllmctl/internal/vllm/flagdb"
)

// EngineReason says why a service is (or is not) taken for a vLLM engine.
type EngineReason string

// Reasons a service is recognised as a vLLM engine.
const (
	ByImage      EngineReason = "image"      // a vLLM image (vllm/vllm-openai, rocm/vllm, nvcr.io/nvidia/vllm, …)
	ByDockerfile EngineReason = "dockerfile" // built from a Dockerfile whose FROM or ENTRYPOINT is vLLM
	ByCommand    EngineReason = "command"    // entrypoint or command starts `vllm serve` or the api_server module
	ByScript     EngineReason = "script"     // a shell script (sh -c, or a wrapper file) that starts vLLM
	ByFlags      EngineReason = "flags"      // a command made of vLLM flags (--model …) on an image of unknown entrypoint
	ByExtension  EngineReason = "x-vllmctl"  // x-vllmctl.engine: vllm
	ByName       EngineReason = "name"       // image unknown here (unset variable, base file absent), service named vllm…
)

// EngineMode is x-vllmctl.engine: "vllm" (or true) forces recognition, "none"
// (or false) denies it.
type EngineMode string

// Values of x-vllmctl.engine.
const (
	EngineAuto EngineMode = ""
	EngineVLLM EngineMode = "vllm"
	EngineNone EngineMode = "none"
)

// UnmarshalJSON accepts "vllm", "none", true and false.
func (m *EngineMode) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v {
	case true, "vllm":
		*m = EngineVLLM
	case false, "none":
		*m = EngineNone
	default:
		*m = EngineMode(strings.TrimSpace(string(b)))
	}
	return nil
}

// helperWords mark images of services that sit beside engines: routers,
// registrars, web UIs, exporters, downloaders.
var helperWords = []string{"router", "registrar", "proxy", "webui", "ui", "exporter", "watchdog", "monitor",
	"downloader", "download", "gateway", "nginx", "lmrouter", "benchmark", "bench", "client", "metrics", "litellm",
	"app", "chatbot", "bot", "frontend"}

// ImageIsVLLM reports whether an image reference names a vLLM server image:
// its repository name holds the word "vllm" (vllm/vllm-openai, rocm/vllm,
// nvcr.io/nvidia/vllm, team-vllm-patched, spark-vllm) and no helper word.
func ImageIsVLLM(ref string) bool {
	ref = strings.ToLower(vllm.ShowUnknown(ref))
	if at := strings.IndexByte(ref, '@'); at >= 0 {
		ref = ref[:at]
	}
	repo := ref
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	words := strings.FieldsFunc(repo, func(r rune) bool { return r == '/' || r == '-' || r == '_' || r == '.' })
	has := false
	for _, w := range words {
		if w == "vllm" || w == "vllmsim" || strings.HasPrefix(w, "vllm") && len(w) <= 8 {
			has = true
		}
	}
	if !has {
		return false
	}
	for _, w := range words {
		for _, h := range helperWords {
			if w == h {
				return false
			}
		}
	}
	return true
}

// OfficialImage reports whether the image is vLLM's own server image
// (vllm/vllm-openai and its -rocm, -cpu variants), whose entrypoint starts vLLM.
func OfficialImage(ref string) bool {
	ref = strings.ToLower(ref)
	ref = strings.TrimPrefix(ref, "docker.io/")
	return strings.HasPrefix(ref, "vllm/vllm-openai")
}

// OfficialCUDAImage reports whether the image is vLLM's own CUDA server image
// (vllm/vllm-openai, not its -rocm or -cpu variants).
func OfficialCUDAImage(ref string) bool {
	r := strings.ToLower(ref)
	return OfficialImage(ref) && !strings.Contains(r, "-rocm") && !strings.Contains(r, "-cpu")
}

// Dockerfile is what vllmctl reads of a service's build: the final stage's
// base image and entrypoint.
type Dockerfile struct {
	Path       string   // as found on disk
	From       string   // the final stage's base, with build args applied
	Entrypoint []string // nil when the file sets none (the base image's applies)
	Cmd        []string
	Line       int // line of the final FROM
}

// readDockerfile reads the build of a service, or returns nil when it has none
// or the file is not beside the compose file.
func readDockerfile(b *types.BuildConfig) *Dockerfile {
	if b == nil || b.Context == "" || strings.Contains(b.Context, "://") {
		return nil
	}
	var data []byte
	var path string
	names := []string{b.Dockerfile, "Dockerfile", "dockerfile"}
	for _, n := range names {
		if n == "" {
			continue
		}
		p := n
		if !filepath.IsAbs(p) {
			p = filepath.Join(b.Context, n)
		}
		if d, err := os.ReadFile(p); err == nil {
			data, path = d, p
			break
		}
	}
	if b.DockerfileInline != "" {
		data, path = []byte(b.DockerfileInline), "(inline)"
	}
	if data == nil {
		return nil
	}
	args := map[string]string{}
	for k, v := range b.Args {
		if v != nil {
			args[k] = *v
		}
	}
	return parseDockerfile(path, data, args)
}

// parseDockerfile reads FROM (with ARG defaults and build args), ENTRYPOINT
// and CMD of the final stage. Stage aliases resolve to their base.
func parseDockerfile(path string, data []byte, buildArgs map[string]string) *Dockerfile {
	df := &Dockerfile{Path: path}
	args := map[string]string{}
	stages := map[string]string{}
	expand := func(s string) string {
		return os.Expand(s, func(k string) string {
			name, def, _ := strings.Cut(k, ":-")
			if v, ok := buildArgs[name]; ok {
				return v
			}
			if v, ok := args[name]; ok && v != "" {
				return v
			}
			return def
		})
	}
	sc := bufio.NewScanner(bytes.NewReader(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line, start := 0, 0
	var logical strings.Builder
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if logical.Len() == 0 {
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			start = line
		}
		if strings.HasSuffix(t, "\\") {
			logical.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		logical.WriteString(t)
		instr := logical.String()
		logical.Reset()
		kw, rest, _ := strings.Cut(instr, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(kw) {
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			if _, ok := args[k]; !ok || v != "" {
				args[k] = strings.Trim(v, `"'`)
			}
		case "FROM":
			f := strings.Fields(rest)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			base := expand(f[0])
			if b, ok := stages[strings.ToLower(base)]; ok {
				base = b
			}
			if len(f) >= 3 && strings.EqualFold(f[1], "as") {
				stages[strings.ToLower(f[2])] = base
			}
			df.From, df.Line, df.Entrypoint, df.Cmd = base, start, nil, nil
		case "ENTRYPOINT":
			df.Entrypoint = dockerWords(rest)
		case "CMD":
			df.Cmd = dockerWords(rest)
		}
	}
	return df
}

// dockerWords reads the exec form (JSON array) or the shell form of ENTRYPOINT/CMD.
func dockerWords(s string) []string {
	var words []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &words) == nil {
		return words
	}
	return []string{"/bin/sh", "-c", s}
}

// VersionSource says where an engine's vLLM release was read.
type VersionSource string

// Where the vLLM release comes from, most trusted first.
const (
	VersionFromExtension  VersionSource = "x-vllmctl.vllm_version"
	VersionFromImage      VersionSource = "image tag"
	VersionFromDockerfile VersionSource = "Dockerfile FROM"
	VersionFromSettings   VersionSource = "vllmctl.yaml vllm_version"
	// VersionAssumedNewest: vLLM's own image under a tag that follows the
	// releases (none, latest, latest-<variant>) and not on this machine:
	// compose, Docker and Kubernetes pull the newest release, taken as the
	// newest vllmctl knows (flagdb.Newest). Not a pin: check judges flags
	// against it with warnings only, as for any unknown release.
	VersionAssumedNewest VersionSource = "assumed newest"
	VersionUnknown       VersionSource = ""
)

// EngineVersion is the vLLM release an engine runs, when it can be told.
type EngineVersion struct {
	Version flagdb.Version
	Pin     flagdb.Pin
	From    VersionSource
	Ref     string // what it was read from: the image, the FROM line, the setting
}

// Planned is the release the planner and the release-dependent defaults use:
// a pinned one, or the newest vllmctl knows for an image that pulls it.
func (v EngineVersion) Planned() (flagdb.Version, bool) {
	if v.Pin == flagdb.Pinned || v.From == VersionAssumedNewest {
		return v.Version, true
	}
	return flagdb.Version{}, false
}

// String renders "0.10.1 (image tag)" or "unknown".
func (v EngineVersion) String() string {
	if v.From == VersionAssumedNewest {
		return v.Version.String() + "? (" + v.Source() + ")"
	}
	if v.Pin != flagdb.Pinned {
		if v.Ref != "" {
			return "unknown (" + vllm.ShowUnknown(v.Ref) + ")"
		}
		return "unknown"
	}
	return v.Version.String() + " (" + v.Source() + ")"
}

// Source says where a pinned release was read: the source, and for a local
// image which image and what it showed.
func (v EngineVersion) Source() string {
	switch v.From {
	case VersionFromImageEnv, VersionFromImageDate:
		return string(v.From) + ": " + vllm.ShowUnknown(v.Ref)
	case VersionAssumedNewest:
		return "assumed: " + vllm.ShowUnknown(v.Ref) + " is not on this machine and pulls the newest build; " + v.Version.String() + " is the newest release vllmctl knows"
	}
	return string(v.From)
}

// resolveVersion reads the engine's release from x-vllmctl.vllm_version, the
// image tag, the Dockerfile FROM, then the project's vllm_version setting.
func (s *Service) resolveVersion(projectDefault string) {
	if s.Ext != nil && s.Ext.VLLMVersion != "" {
		if v, ok := flagdb.ParseVersion(s.Ext.VLLMVersion); ok {
			s.Version = EngineVersion{v, flagdb.Pinned, VersionFromExtension, s.Ext.VLLMVersion}
			return
		}
	}
	if s.Config.Image != "" && !vllm.HasUnknown(s.Config.Image) {
		if v, pin := flagdb.ImageVersion(s.Config.Image); pin == flagdb.Pinned && ImageIsVLLM(s.Config.Image) {
			s.Version = EngineVersion{v, pin, VersionFromImage, s.Config.Image}
			return
		}
	}
	if s.Dockerfile != nil && s.Dockerfile.From != "" {
		if v, pin := flagdb.ImageVersion(s.Dockerfile.From); pin == flagdb.Pinned {
			s.Version = EngineVersion{v, pin, VersionFromDockerfile, s.Dockerfile.From}
			return
		}
	}
	if projectDefault != "" {
		if v, ok := flagdb.ParseVersion(projectDefault); ok {
			s.Version = EngineVersion{v, flagdb.Pinned, VersionFromSettings, projectDefault}
			return
		}
	}
	ref := s.Config.Image
	if s.Dockerfile != nil && s.Dockerfile.From != "" {
		ref = s.Dockerfile.From
	}
	if s.Dockerfile == nil && s.Config.Build == nil && pullsNewest(ref) {
		s.Version = EngineVersion{Version: flagdb.Newest(), From: VersionAssumedNewest, Ref: ref}
		return
	}
	s.Version = EngineVersion{Ref: ref}
}

// pullsNewest reports whether ref is one of vLLM's own images under a tag
// that follows the releases — none, latest, latest-<variant> — or the bare
// nightly tag, so that a pull brings the newest release or a build newer
// still (a digest names one image, not the newest).
func pullsNewest(ref string) bool {
	if ref == "" || vllm.HasUnknown(ref) || !OfficialImage(ref) || strings.Contains(ref, "@") {
		return false
	}
	return movingTag(ref) || strings.HasSuffix(strings.ToLower(ref), ":nightly")
}

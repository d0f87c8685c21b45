package project

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// ExtKey is the compose extension key vllmctl reads on a service.
const ExtKey = "x-vllmctl"

// Service is one compose service of a profile, with its vLLM view when it is an engine.
type Service struct {
	Name         string
	Profile      string
	Config       types.ServiceConfig // merged and interpolated
	Engine       bool                // recognised as a vLLM engine
	EngineReason EngineReason        // why
	// Argv is the engine's command line: entrypoint + command as the container
	// receives them, or the vLLM command of the script that starts the engine
	// (Script then says where). Unknown values are vllm.UnknownMark.
	Argv       []string
	ArgvOffset int           // index in Argv where Config.Command starts
	Script     *Script       // the shell script that starts the engine; nil when none
	Dockerfile *Dockerfile   // the build's Dockerfile; nil when none is readable
	Version    EngineVersion // the vLLM release the engine runs, when it can be told
	Args       vllm.Args
	GPUs       GPUs
	Ports      []Port
	Ext        *Ext // x-vllmctl block; nil when absent
	ExtRaw     any
	// Wrapped is the entrypoint that starts the engine when it is not vLLM
	// itself (a shell script): the engine's flags are then not visible here.
	Wrapped string
	// Gated lists the compose profiles that enable this service when compose
	// does not start it by default (`profiles: [...]`).
	Gated []string
	// LauncherTwice: the command starts vLLM (python3 -m …api_server, vllm
	// serve) on an image whose entrypoint already does.
	LauncherTwice bool
	// Template: a service behind a compose profile that other services extend.
	Template bool
}

// GPUs is the GPU selection of a service.
type GPUs struct {
	IDs []string `json:"ids,omitempty"` // host GPU ids (nvidia-smi index or UUID)
	All bool     `json:"all,omitempty"` // every GPU of the host
	// Unknown: the selection comes from a variable no .env here sets.
	Unknown bool   `json:"unknown,omitempty"`
	Count   int    `json:"count,omitempty"`  // a count without ids
	Source  string `json:"source,omitempty"` // device_ids, count, NVIDIA_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES
	Path    string `json:"path,omitempty"`   // dotted compose path of the setting
	Empty   bool   `json:"empty,omitempty"`  // a selection that interpolated to nothing
}

// N is the number of GPUs selected, or 0 when unknown (All, or nothing).
func (g GPUs) N() int {
	if len(g.IDs) > 0 {
		return len(g.IDs)
	}
	return g.Count
}

func (g GPUs) String() string {
	switch {
	case g.Unknown:
		return "unknown"
	case g.Empty:
		return "(empty)"
	case g.All:
		return "all"
	case len(g.IDs) > 0:
		return strings.Join(g.IDs, ",")
	case g.Count > 0:
		return fmt.Sprintf("%d (any)", g.Count)
	}
	return "-"
}

// Port is one published port.
type Port struct {
	HostIP    string `json:"host_ip,omitempty"`
	Published int    `json:"published"`
	Target    int    `json:"target"`
	Protocol  string `json:"protocol,omitempty"`
	Index     int    `json:"-"`
}

// Ext is the x-vllmctl block of a service (schema: schema/x-vllmctl.schema.json).
type Ext struct {
	Description  string       `json:"description,omitempty"`
	Size         string       `json:"size,omitempty"`
	Aliases      []string     `json:"aliases,omitempty"`
	OnDemand     bool         `json:"on_demand,omitempty"`
	Group        string       `json:"group,omitempty"`
	ModelConfig  string       `json:"model_config,omitempty"`
	Engine       EngineMode   `json:"engine,omitempty"`
	VLLMVersion  string       `json:"vllm_version,omitempty"`
	Alternatives []string     `json:"alternatives,omitempty"`
	Watchdog     *WatchdogExt `json:"watchdog,omitempty"`
}

// decodeExt decodes an x-vllmctl block once, into typed values. A block of
// the wrong shape decodes as far as it can (a bad watchdog keeps the rest);
// check reports every violation against the schema, located.
func decodeExt(raw any) *Ext {
	b, err := json.Marshal(raw)
	if err != nil {
		return &Ext{}
	}
	var e Ext
	if json.Unmarshal(b, &e) == nil {
		return &e
	}
	var rest struct {
		Ext
		Watchdog json.RawMessage `json:"watchdog"` // shadows Ext.Watchdog
	}
	if json.Unmarshal(b, &rest) == nil {
		return &rest.Ext
	}
	return &Ext{}
}

func newService(pr *Profile, sc types.ServiceConfig) *Service {
	s := &Service{Name: sc.Name, Profile: pr.Name, Config: sc}
	if raw, ok := sc.Extensions[ExtKey]; ok {
		s.ExtRaw = raw
		s.Ext = decodeExt(raw)
	}
	dir := ""
	if len(pr.Sources) > 0 {
		dir = filepath.Dir(pr.Sources[0].Abs)
	}
	s.recognise(dir)
	if s.Engine {
		s.resolveVersion(pr.vllmVersion)
		if v, ok := s.Version.Planned(); ok {
			s.Args.AtRelease(v)
		}
	}
	s.GPUs = gpusOf(sc)
	for i, p := range sc.Ports {
		pub, _ := strconv.Atoi(p.Published)
		s.Ports = append(s.Ports, Port{HostIP: p.HostIP, Published: pub, Target: int(p.Target), Protocol: p.Protocol, Index: i})
	}
	return s
}

func gpusOf(sc types.ServiceConfig) GPUs {
	g := gpuSelection(sc)
	for _, id := range g.IDs {
		if vllm.HasUnknown(id) {
			return GPUs{Unknown: true, Source: g.Source, Path: g.Path}
		}
	}
	return g
}

func gpuSelection(sc types.ServiceConfig) GPUs {
	var reqs []types.DeviceRequest
	var paths []string
	for i, d := range sc.Gpus {
		// A service-level gpus: entry is a GPU request whatever it names
		// (`gpus: all` reads as count -1 with no driver or capabilities;
		// compose adds the gpu capability).
		if !isGPU(d) {
			d.Capabilities = append(slices.Clone(d.Capabilities), "gpu")
		}
		reqs = append(reqs, d)
		paths = append(paths, fmt.Sprintf("services.%s.gpus.%d", sc.Name, i))
	}
	if sc.Deploy != nil && sc.Deploy.Resources.Reservations != nil {
		for i, d := range sc.Deploy.Resources.Reservations.Devices {
			reqs = append(reqs, d)
			paths = append(paths, fmt.Sprintf("services.%s.deploy.resources.reservations.devices.%d", sc.Name, i))
		}
	}
	if len(reqs) > 0 {
		for i, d := range reqs {
			if !isGPU(d) {
				continue
			}
			path := paths[i]
			if len(d.IDs) > 0 {
				g := GPUs{Source: "device_ids", Path: path + ".device_ids"}
				for _, id := range d.IDs {
					for _, part := range strings.Split(id, ",") {
						if t := strings.TrimSpace(part); t != "" {
							g.IDs = append(g.IDs, t)
						}
					}
				}
				g.Empty = len(g.IDs) == 0
				return g
			}
			if d.Count == -1 {
				return GPUs{All: true, Source: "count", Path: path + ".count"}
			}
			if d.Count > 0 {
				return GPUs{Count: int(d.Count), Source: "count", Path: path + ".count"}
			}
			return GPUs{All: true, Source: "device", Path: path}
		}
	}
	envSel := func(key string) (GPUs, bool) {
		v, ok := sc.Environment[key]
		if !ok {
			return GPUs{}, false
		}
		g := GPUs{Source: key, Path: "services." + sc.Name + ".environment." + key}
		val := ""
		if v != nil {
			val = strings.TrimSpace(*v)
		}
		switch strings.ToLower(val) {
		case "":
			g.Empty = true
		case "all":
			g.All = true
		case "none", "void":
		default:
			for _, part := range strings.Split(val, ",") {
				if t := strings.TrimSpace(part); t != "" {
					g.IDs = append(g.IDs, t)
				}
			}
		}
		return g, true
	}
	if sc.Runtime == "nvidia" {
		if g, ok := envSel("NVIDIA_VISIBLE_DEVICES"); ok {
			return g
		}
	}
	if g, ok := envSel("CUDA_VISIBLE_DEVICES"); ok {
		return g
	}
	if g, ok := envSel("NVIDIA_VISIBLE_DEVICES"); ok {
		return g
	}
	if sc.Runtime == "nvidia" {
		return GPUs{All: true, Source: "runtime", Path: "services." + sc.Name + ".runtime"}
	}
	// CDI (devices: [nvidia.com/gpu=all], nvidia.com/gpu=0) and AMD (/dev/kfd with
	// HIP_VISIBLE_DEVICES or ROCR_VISIBLE_DEVICES, or all of /dev/dri).
	amd := false
	for i, d := range sc.Devices {
		path := fmt.Sprintf("services.%s.devices.%d", sc.Name, i)
		if kind, id, ok := strings.Cut(d.Source, "="); ok && strings.HasSuffix(kind, "/gpu") {
			if id == "all" {
				return GPUs{All: true, Source: "cdi", Path: path}
			}
			return GPUs{IDs: strings.Split(id, ","), Source: "cdi", Path: path}
		}
		amd = amd || d.Source == "/dev/kfd"
	}
	if amd {
		for _, k := range []string{"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"} {
			if g, ok := envSel(k); ok {
				return g
			}
		}
		return GPUs{All: true, Source: "/dev/kfd", Path: "services." + sc.Name + ".devices"}
	}
	return GPUs{}
}

func isGPU(d types.DeviceRequest) bool {
	if d.Driver == "nvidia" || d.Driver == "amd" || d.Driver == "cdi" {
		return true
	}
	for _, c := range d.Capabilities {
		if c == "gpu" {
			return true
		}
	}
	return false
}

// HostPort returns the first published host port, or 0.
func (s *Service) HostPort() int {
	for _, p := range s.Ports {
		if p.Published > 0 {
			return p.Published
		}
	}
	return 0
}

// ServedNames are the names the engine answers to, then the x-vllmctl aliases.
func (s *Service) ServedNames() []string {
	out := append([]string(nil), s.Args.ServedNames()...)
	if s.Ext != nil {
		out = append(out, s.Ext.Aliases...)
	}
	return out
}

// CommandIndex maps an Argv index to the index inside Config.Command, or -1
// when the token comes from the entrypoint.
func (s *Service) CommandIndex(argvIndex int) int {
	if argvIndex < s.ArgvOffset {
		return -1
	}
	return argvIndex - s.ArgvOffset
}

// IsSecretName reports whether a variable or flag name holds a secret:
// HF_TOKEN, HUGGING_FACE_HUB_TOKEN, *_API_KEY, *_TOKEN, *_SECRET, *_PASSWORD,
// VLLMCTL_GATEWAY_KEY_*, api-key.
func IsSecretName(name string) bool {
	n := strings.ToUpper(strings.ReplaceAll(strings.TrimLeft(name, "-"), "-", "_"))
	return n == "API_KEY" || strings.HasSuffix(n, "_API_KEY") || strings.HasPrefix(n, "VLLM_API_KEY") ||
		strings.HasPrefix(n, "VLLMCTL_GATEWAY_KEY_") ||
		n == "HF_TOKEN" || n == "HUGGING_FACE_HUB_TOKEN" || strings.HasSuffix(n, "_TOKEN") ||
		strings.HasSuffix(n, "_SECRET") || strings.HasSuffix(n, "_PASSWORD")
}

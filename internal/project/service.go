package project

import (
	"encoding/json"
	"fmt"
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
	EngineReason string              // why: "image", "command", "x-vllmctl"
	Argv         []string            // entrypoint + command as the container receives them
	ArgvOffset   int                 // index in Argv where Config.Command starts
	Args         vllm.Args
	GPUs         GPUs
	Ports        []Port
	Ext          *Ext // x-vllmctl block; nil when absent
	ExtRaw       any
	// Wrapped is the entrypoint that starts the engine when it is not vLLM
	// itself (a shell script): the engine's flags are then not visible here.
	Wrapped string
}

// GPUs is the GPU selection of a service.
type GPUs struct {
	IDs    []string `json:"ids,omitempty"`    // host GPU ids (nvidia-smi index or UUID)
	All    bool     `json:"all,omitempty"`    // every GPU of the host
	Count  int      `json:"count,omitempty"`  // a count without ids
	Source string   `json:"source,omitempty"` // device_ids, count, NVIDIA_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES
	Path   string   `json:"path,omitempty"`   // dotted compose path of the setting
	Empty  bool     `json:"empty,omitempty"`  // a selection that interpolated to nothing
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
	Description string          `json:"description,omitempty"`
	Size        string          `json:"size,omitempty"`
	Aliases     []string        `json:"aliases,omitempty"`
	OnDemand    bool            `json:"on_demand,omitempty"`
	Group       string          `json:"group,omitempty"`
	ModelConfig string          `json:"model_config,omitempty"`
	Engine      *bool           `json:"engine,omitempty"`
	Watchdog    json.RawMessage `json:"watchdog,omitempty"`
	Readiness   json.RawMessage `json:"readiness,omitempty"`
}

var engineImages = []string{"vllm/vllm-openai", "vllm-openai", "vllm/vllm", "vllm-sim", "/vllm:", "vllm:"}

func newService(pr *Profile, sc types.ServiceConfig) *Service {
	s := &Service{Name: sc.Name, Profile: pr.Name, Config: sc}
	s.Argv = append(append([]string(nil), sc.Entrypoint...), sc.Command...)
	s.ArgvOffset = len(sc.Entrypoint)
	if raw, ok := sc.Extensions[ExtKey]; ok {
		s.ExtRaw = raw
		var e Ext
		if b, err := json.Marshal(raw); err == nil && json.Unmarshal(b, &e) == nil {
			s.Ext = &e
		} else {
			s.Ext = &Ext{}
		}
	}
	img := strings.ToLower(sc.Image)
	for _, m := range engineImages {
		if strings.Contains(img, m) {
			s.Engine, s.EngineReason = true, "image"
			break
		}
	}
	if !s.Engine && vllm.IsLauncher(s.Argv) {
		s.Engine, s.EngineReason = true, "command"
	}
	if s.Ext != nil && (s.Ext.Engine == nil || *s.Ext.Engine) && !s.Engine {
		s.Engine, s.EngineReason = true, "x-vllmctl"
	}
	if s.Ext != nil && s.Ext.Engine != nil && !*s.Ext.Engine {
		s.Engine = false
	}
	if s.Engine {
		if len(sc.Entrypoint) > 0 && !vllm.IsLauncher(sc.Entrypoint) && !strings.Contains(strings.Join(sc.Entrypoint, " "), "vllm") {
			s.Wrapped = strings.Join(sc.Entrypoint, " ")
			s.Args = vllm.Parse(nil)
		} else {
			s.Args = vllm.Parse(s.Argv)
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
	if sc.Deploy != nil && sc.Deploy.Resources.Reservations != nil {
		for i, d := range sc.Deploy.Resources.Reservations.Devices {
			if !isGPU(d) {
				continue
			}
			path := fmt.Sprintf("services.%s.deploy.resources.reservations.devices.%d", sc.Name, i)
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
	return GPUs{}
}

func isGPU(d types.DeviceRequest) bool {
	if d.Driver == "nvidia" {
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
// HF_TOKEN, HUGGING_FACE_HUB_TOKEN, *_API_KEY, *_TOKEN, *_SECRET, *_PASSWORD, api-key.
func IsSecretName(name string) bool {
	n := strings.ToUpper(strings.ReplaceAll(strings.TrimLeft(name, "-"), "-", "_"))
	return n == "API_KEY" || strings.HasSuffix(n, "_API_KEY") || strings.HasPrefix(n, "VLLM_API_KEY") ||
		n == "HF_TOKEN" || n == "HUGGING_FACE_HUB_TOKEN" || strings.HasSuffix(n, "_TOKEN") ||
		strings.HasSuffix(n, "_SECRET") || strings.HasSuffix(n, "_PASSWORD")
}

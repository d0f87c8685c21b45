package kube

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/vllmctl/vllmctl/internal/project"
)

// SettingsKey is the key of the Kubernetes settings inside a service's x-vllmctl block.
const SettingsKey = "kubernetes"

// Settings is x-vllmctl.kubernetes of a service (schema:
// internal/project/schema/x-vllmctl.schema.json). Tolerations and Affinity
// are Kubernetes objects, written with Kubernetes' own field names.
type Settings struct {
	Namespace    string              `json:"namespace,omitempty"`
	NodeSelector map[string]string   `json:"node_selector,omitempty"`
	Tolerations  []corev1.Toleration `json:"tolerations,omitempty"`
	Affinity     *corev1.Affinity    `json:"affinity,omitempty"`
	// GPUs overrides the GPU count read from the compose file (for "all" GPUs
	// of the host: tensor × pipeline × data parallel size).
	GPUs        *int    `json:"gpus,omitempty"`
	GPUResource string  `json:"gpu_resource,omitempty"` // default nvidia.com/gpu
	ServiceType string  `json:"service_type,omitempty"` // ClusterIP (default), NodePort, LoadBalancer
	HFCache     HFCache `json:"hf_cache,omitempty"`
	// StartupTimeout bounds the startupProbe (a Go duration); default: the
	// model's likely load time.
	StartupTimeout string `json:"startup_timeout,omitempty"`
	RuntimeClass   string `json:"runtime_class,omitempty"`
}

// HFCache says where the Hugging Face cache lives: a new claim (default), an
// existing claim, or a host path. At most one of Claim and HostPath.
type HFCache struct {
	Claim        string `json:"claim,omitempty"`         // an existing PersistentVolumeClaim
	HostPath     string `json:"host_path,omitempty"`     // a folder of the node
	Size         string `json:"size,omitempty"`          // of the new claim; default 100Gi
	StorageClass string `json:"storage_class,omitempty"` // of the new claim
	AccessMode   string `json:"access_mode,omitempty"`   // of the new claim; default ReadWriteOnce
}

// DefaultGPUResource is the extended resource the NVIDIA device plugin advertises.
const DefaultGPUResource = "nvidia.com/gpu"

// DefaultCacheSize is the size of a new Hugging Face cache claim.
const DefaultCacheSize = "100Gi"

// settingsOf reads x-vllmctl.kubernetes of a service; pos locates errors.
func settingsOf(pr *project.Profile, s *project.Service) (Settings, error) {
	var st Settings
	ext, ok := s.ExtRaw.(map[string]any)
	if !ok {
		return st, nil
	}
	raw, ok := ext[SettingsKey]
	if !ok || raw == nil {
		return st, nil
	}
	path := "services." + s.Name + "." + project.ExtKey + "." + SettingsKey
	where := func() string {
		pos, _ := pr.PosOf(path)
		if p := pos.String(); p != "" {
			return p + ": "
		}
		return ""
	}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return st, fmt.Errorf("%s%s: %v (see the x-vllmctl.kubernetes section of the README)", where(), path, err)
	}
	if st.HFCache.Claim != "" && st.HFCache.HostPath != "" {
		return st, fmt.Errorf("%s%s.hf_cache: claim and host_path are both set: keep one", where(), path)
	}
	if st.HFCache.Size != "" {
		if _, err := resource.ParseQuantity(st.HFCache.Size); err != nil {
			return st, fmt.Errorf("%s%s.hf_cache.size %q: not a Kubernetes quantity (e.g. 200Gi)", where(), path, st.HFCache.Size)
		}
	}
	switch corev1.ServiceType(st.ServiceType) {
	case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		return st, fmt.Errorf("%s%s.service_type %q: use ClusterIP, NodePort or LoadBalancer", where(), path, st.ServiceType)
	}
	if st.GPUs != nil && *st.GPUs < 0 {
		return st, fmt.Errorf("%s%s.gpus %d: a count of 0 or more", where(), path, *st.GPUs)
	}
	return st, nil
}

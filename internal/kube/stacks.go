package kube

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// This file maps engines one to one onto two projects' own formats, with
// their field names as those projects define them:
//   - the vLLM production-stack Helm chart: servingEngineSpec.modelSpec[]
//     (helm/values.yaml of vllm-project/production-stack);
//   - KubeAI: Model objects of kubeai.org/v1 (api/k8s/v1/model_types.go of
//     substratusai/kubeai).
// What has no field there is listed as a warning, never dropped silently.

// flagTokens splits an engine's tokens by the flags vLLM parses: for each
// canonical flag name, the tokens that write it; and the tokens that are the
// launcher or the positional model.
type flagSpan struct {
	name   string
	tokens []string
	values []string
}

func (e *Engine) flags() []flagSpan {
	var out []flagSpan
	for _, a := range e.src.Args.List {
		n := 1
		if !strings.Contains(a.Written, "=") {
			n += len(a.Values)
		}
		if a.Index < 0 || a.Index+n > len(e.tokens) {
			continue
		}
		toks := e.tokens[a.Index : a.Index+n]
		vals := a.Values
		if len(toks) > 1 {
			vals = toks[1:]
		} else if _, v, ok := strings.Cut(toks[0], "="); ok {
			vals = []string{v}
		}
		out = append(out, flagSpan{name: a.Name, tokens: toks, values: vals})
	}
	return out
}

// scriptStarted: the engine's flags are inside a shell script or behind a
// wrapper, so they cannot be handed over one by one.
func (e *Engine) scriptStarted() bool { return e.src.Script != nil || e.src.Wrapped != "" }

func (e *Engine) warn(r *Result, msg string) {
	r.Warnings = append(r.Warnings, Warning{Profile: e.Profile, Service: e.Service, Message: msg})
}

func splitImage(ref string) (repo, tag string) {
	if at := strings.Index(ref, "@"); at >= 0 {
		return ref[:at], ref[at+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, "latest"
}

func (e *Engine) container() corev1.Container { return e.Deployment.Spec.Template.Spec.Containers[0] }

// secretRef returns the secret key a token "$(KEY)" refers to.
func secretRef(tok string) (string, bool) {
	if strings.HasPrefix(tok, "$(") && strings.HasSuffix(tok, ")") && !strings.Contains(tok[2:], "$(") {
		return tok[2 : len(tok)-1], true
	}
	return "", false
}

// ProductionStack writes values for the vLLM production-stack chart: one
// servingEngineSpec.modelSpec entry per engine, and the warnings of what
// has no field there (added to r.Warnings).
func ProductionStack(r *Result) ([]File, error) {
	var specs []map[string]any
	var threshold int32
	apiKeys := map[string]bool{}        // secret keys of --api-key values
	apiKeyArgs := map[string][]string{} // per engine, its --api-key tokens
	apiKeyVar := map[string]string{}    // per engine, the variable of its key
	ports := map[int32]bool{}
	for _, e := range r.Engines {
		c := e.container()
		if e.scriptStarted() {
			e.warn(r, "the engine starts through a script or wrapper: production-stack runs vllm serve itself; not exported")
			continue
		}
		if len(c.Command) > 0 && e.src.Args.Launcher == "" {
			e.warn(r, fmt.Sprintf("entrypoint %v has no modelSpec field: production-stack runs vllm serve itself", c.Command))
		}
		model := e.src.Args.Model
		if model == "" {
			e.warn(r, "no --model nor positional model: modelURL cannot be set; not exported")
			continue
		}
		repo, tag := splitImage(c.Image)
		spec := map[string]any{
			"name": e.Name, "repository": repo, "tag": tag, "modelURL": model,
			"replicaCount": 1, "requestGPU": e.GPUs,
		}
		if e.settings.GPUResource != "" && e.settings.GPUResource != DefaultGPUResource {
			spec["requestGPUType"] = e.settings.GPUResource
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			spec["limitMemory"] = q.String()
		}
		if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
			spec["limitCPU"] = q.String()
		}
		if e.Claim != nil {
			q := e.Claim.Spec.Resources.Requests[corev1.ResourceStorage]
			spec["pvcStorage"] = q.String()
			spec["pvcAccessMode"] = e.Claim.Spec.AccessModes
			if e.Claim.Spec.StorageClassName != nil {
				spec["storageClass"] = *e.Claim.Spec.StorageClassName
			}
		} else {
			e.warn(r, "the Hugging Face cache on an existing claim or a hostPath has no modelSpec field (production-stack makes its own claim): pvcStorage left to the chart")
		}
		vc := map[string]any{}
		var extra []string
		for _, f := range e.flags() {
			one := ""
			if len(f.values) == 1 {
				one = f.values[0]
			}
			switch f.name {
			case "model", "port", "host":
				// modelURL; the chart's containerPort and 0.0.0.0
			case "max-model-len":
				vc["maxModelLen"] = json.Number(one)
			case "dtype":
				vc["dtype"] = one
			case "tensor-parallel-size":
				vc["tensorParallelSize"] = json.Number(one)
			case "max-num-seqs":
				vc["maxNumSeqs"] = json.Number(one)
			case "gpu-memory-utilization":
				vc["gpuMemoryUtilization"] = json.Number(one)
			case "max-loras":
				vc["maxLoras"] = json.Number(one)
			case "enable-prefix-caching":
				vc["enablePrefixCaching"] = len(f.values) == 0 || one == "true"
			case "enable-chunked-prefill":
				vc["enableChunkedPrefill"] = len(f.values) == 0 || one == "true"
			case "api-key":
				key, _ := secretRef(one)
				apiKeys[key] = true
				apiKeyArgs[e.Name] = f.tokens
			default:
				extra = append(extra, f.tokens...)
			}
		}
		for k, v := range vc {
			if n, ok := v.(json.Number); ok {
				if _, err := n.Float64(); err != nil {
					delete(vc, k)
					extra = append(extra, "--"+k, string(n))
				}
			}
		}
		if len(extra) > 0 {
			vc["extraArgs"] = extra
		}
		spec["vllmConfig"] = vc
		if toks, ok := apiKeyArgs[e.Name]; ok {
			key, _ := secretRef(toks[len(toks)-1])
			if _, v, ok := strings.Cut(toks[len(toks)-1], "="); ok {
				key, _ = secretRef(v)
			}
			apiKeyVar[e.Name] = key
		}
		var env []corev1.EnvVar
		for _, ev := range c.Env {
			if ev.ValueFrom != nil && ev.ValueFrom.SecretKeyRef != nil && (ev.Name == "HF_TOKEN" || ev.Name == "HUGGING_FACE_HUB_TOKEN") {
				if _, set := spec["hf_token"]; !set {
					spec["hf_token"] = map[string]any{"secretName": r.SecretName, "secretKey": ev.ValueFrom.SecretKeyRef.Key}
					continue
				}
			}
			env = append(env, ev)
		}
		if len(env) > 0 {
			spec["env"] = env
		}
		pod := e.Deployment.Spec.Template.Spec
		if pod.Affinity != nil {
			spec["affinity"] = pod.Affinity
		}
		if len(pod.NodeSelector) > 0 {
			keys := make([]string, 0, len(pod.NodeSelector))
			for k := range pod.NodeSelector {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var exprs []corev1.NodeSelectorRequirement
			for _, k := range keys {
				exprs = append(exprs, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{pod.NodeSelector[k]}})
			}
			spec["nodeSelectorTerms"] = []corev1.NodeSelectorTerm{{MatchExpressions: exprs}}
			if pod.Affinity != nil {
				e.warn(r, "node_selector and affinity are both set: production-stack ignores nodeSelectorTerms when affinity is set; merge them into affinity")
			}
		}
		if len(pod.Tolerations) > 0 {
			spec["tolerations"] = pod.Tolerations
		}
		if pod.RuntimeClassName != nil {
			spec["runtimeClassName"] = *pod.RuntimeClassName
		}
		for _, v := range pod.Volumes {
			if v.Name == "dshm" && v.EmptyDir.SizeLimit != nil {
				spec["shmSize"] = v.EmptyDir.SizeLimit.String()
			}
		}
		if e.settings.ServiceType != "" && e.settings.ServiceType != string(corev1.ServiceTypeClusterIP) {
			e.warn(r, "service_type "+e.settings.ServiceType+" has no modelSpec field (the chart's router is the entry point)")
		}
		ports[c.Ports[0].ContainerPort] = true
		threshold = max(threshold, e.startup)
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("no engine could be mapped to production-stack (see the warnings)")
	}
	// servingEngineSpec.vllmApiKey is one key for every engine (and the router).
	if len(apiKeys) > 1 || apiKeys[""] {
		r.Warnings = append(r.Warnings, Warning{Profile: "*", Message: "the engines have different --api-key values: servingEngineSpec.vllmApiKey is one for all, so each keeps its --api-key in extraArgs"})
	}
	for _, spec := range specs {
		name := spec["name"].(string)
		toks, ok := apiKeyArgs[name]
		if !ok {
			continue
		}
		if len(apiKeys) == 1 && !apiKeys[""] {
			// servingEngineSpec.vllmApiKey sets VLLM_API_KEY: the variable is not needed
			env, _ := spec["env"].([]corev1.EnvVar)
			var kept []corev1.EnvVar
			for _, ev := range env {
				if ev.Name != apiKeyVar[name] {
					kept = append(kept, ev)
				}
			}
			if len(kept) == 0 {
				delete(spec, "env")
			} else {
				spec["env"] = kept
			}
			continue
		}
		vc := spec["vllmConfig"].(map[string]any)
		extra, _ := vc["extraArgs"].([]string)
		vc["extraArgs"] = append(toks, extra...)
	}
	for _, spec := range specs {
		if vc := spec["vllmConfig"].(map[string]any); len(vc) == 0 {
			delete(spec, "vllmConfig")
		}
	}
	ses := map[string]any{"modelSpec": specs, "startupProbe": map[string]any{"periodSeconds": 10, "failureThreshold": threshold}}
	if len(apiKeys) == 1 && !apiKeys[""] {
		for k := range apiKeys {
			ses["vllmApiKey"] = map[string]any{"secretName": r.SecretName, "secretKey": k}
		}
	}
	if len(ports) == 1 {
		for p := range ports {
			if p != 8000 {
				ses["containerPort"] = p
			}
		}
	} else {
		r.Warnings = append(r.Warnings, Warning{Profile: "*", Message: "the engines listen on different ports; servingEngineSpec.containerPort is one for all: production-stack sets --port itself, so the default 8000 is kept"})
	}
	data, err := marshalValues(map[string]any{"servingEngineSpec": ses})
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf("# values for the vLLM production-stack Helm chart, written by vllmctl export production-stack\n# from the profiles of project %s. Secrets come from the Secret %s (export kubernetes\n# --include-secrets writes it). Install: helm install vllm vllm/vllm-stack -f values-production-stack.yaml\n", r.Project, r.SecretName)
	return []File{{Name: "values-production-stack.yaml", Data: append([]byte(header), data...)}}, nil
}

func marshalValues(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, err
	}
	clean(plain)
	return yaml.Marshal(plain)
}

// KubeAIModel is a kubeai.org/v1 Model with the fields vllmctl fills.
type KubeAIModel struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   map[string]any  `json:"metadata"`
	Spec       KubeAIModelSpec `json:"spec"`
}

// KubeAIModelSpec holds ModelSpec's fields by their KubeAI names.
type KubeAIModelSpec struct {
	URL             string                 `json:"url"`
	Features        []string               `json:"features"`
	Engine          string                 `json:"engine"`
	ResourceProfile string                 `json:"resourceProfile,omitempty"`
	Image           string                 `json:"image,omitempty"`
	Args            []string               `json:"args,omitempty"`
	Env             map[string]string      `json:"env,omitempty"`
	EnvFrom         []corev1.EnvFromSource `json:"envFrom,omitempty"`
	MinReplicas     int32                  `json:"minReplicas"`
	MaxReplicas     *int32                 `json:"maxReplicas,omitempty"`
}

// KubeAI writes one Model per engine (kubeai-models.yaml) and adds the
// warnings of what has no Model field to r.Warnings.
func KubeAI(r *Result) ([]File, error) {
	var docs [][]byte
	for _, e := range r.Engines {
		c := e.container()
		if e.scriptStarted() {
			e.warn(r, "the engine starts through a script or wrapper: KubeAI runs vLLM itself; not exported")
			continue
		}
		model := e.src.Args.Model
		if model == "" || strings.HasPrefix(model, "/") || strings.HasPrefix(model, ".") {
			e.warn(r, fmt.Sprintf("model %q is not a Hugging Face id: a KubeAI url is hf://, pvc://, s3://…; not exported (write its Model by hand)", model))
			continue
		}
		if len(e.Name) > 40 {
			e.warn(r, "name "+e.Name+" is over KubeAI's 40 characters: not exported")
			continue
		}
		one := int32(1)
		m := KubeAIModel{APIVersion: "kubeai.org/v1", Kind: "Model",
			Metadata: map[string]any{"name": e.Name, "labels": map[string]string{LabelProject: r.Project, LabelProfile: e.Deployment.Spec.Selector.MatchLabels[LabelProfile], LabelManaged: ManagedBy}},
			Spec:     KubeAIModelSpec{URL: "hf://" + model, Features: []string{"TextGeneration"}, Engine: "VLLM", Image: c.Image, MinReplicas: 1, MaxReplicas: &one}}
		if r.Namespace != "" {
			m.Metadata["namespace"] = r.Namespace
		}
		if e.src.Ext != nil && e.src.Ext.OnDemand {
			m.Spec.MinReplicas = 0 // on_demand: started by the first request
		}
		if e.GPUs > 0 {
			e.warn(r, fmt.Sprintf("KubeAI takes GPUs from a resourceProfile of its system config: set spec.resourceProfile to <your profile>:%d", e.GPUs))
		}
		for _, f := range e.flags() {
			switch f.name {
			case "model", "port", "host":
			case "served-model-name":
				e.warn(r, "--served-model-name "+strings.Join(f.values, " ")+": KubeAI serves the model under the Model's name ("+e.Name+")")
			default:
				m.Spec.Args = append(m.Spec.Args, f.tokens...)
			}
		}
		if len(c.Command) > 0 && e.src.Args.Launcher == "" {
			e.warn(r, fmt.Sprintf("entrypoint %v has no Model field: KubeAI runs vLLM itself", c.Command))
		}
		secrets := false
		for _, ev := range c.Env {
			if ev.ValueFrom != nil {
				secrets = true
				continue
			}
			if m.Spec.Env == nil {
				m.Spec.Env = map[string]string{}
			}
			m.Spec.Env[ev.Name] = ev.Value
		}
		if secrets {
			m.Spec.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: r.SecretName}}}}
		}
		pod := e.Deployment.Spec.Template.Spec
		if len(pod.NodeSelector) > 0 || len(pod.Tolerations) > 0 || pod.Affinity != nil || pod.RuntimeClassName != nil {
			e.warn(r, "node_selector, tolerations, affinity and runtime_class belong to KubeAI's resourceProfiles (system config), not to the Model: not exported")
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			e.warn(r, "memory and CPU limits belong to KubeAI's resourceProfiles: not exported")
		}
		if e.Claim == nil {
			e.warn(r, "the Hugging Face cache claim or hostPath has no Model field (KubeAI caches through a cacheProfile): not exported")
		}
		for _, v := range pod.Volumes {
			if v.Name == "dshm" && v.EmptyDir.SizeLimit != nil {
				e.warn(r, "shm_size has no Model field: not exported")
			}
		}
		b, err := marshalValues(m)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no engine could be mapped to a KubeAI Model (see the warnings)")
	}
	header := fmt.Sprintf("# KubeAI Models (kubeai.org/v1) of project %s, written by vllmctl export kubeai.\n", r.Project)
	if r.SecretName != "" {
		header += fmt.Sprintf("# Secrets come from the Secret %s through envFrom (export kubernetes --include-secrets writes it).\n", r.SecretName)
	}
	out := []byte(header)
	for _, d := range docs {
		out = append(out, "---\n"...)
		out = append(out, d...)
	}
	return []File{{Name: "kubeai-models.yaml", Data: out}}, nil
}

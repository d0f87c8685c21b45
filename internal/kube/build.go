package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"math"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Label keys set on every object.
const (
	LabelProject = "vllmctl.dev/project"
	LabelProfile = "vllmctl.dev/profile"
	LabelService = "vllmctl.dev/service"
	LabelHash    = "vllmctl.dev/config-hash"
	LabelVersion = "vllmctl.dev/version"
	LabelManaged = "app.kubernetes.io/managed-by"
	LabelName    = "app.kubernetes.io/name"
	LabelInst    = "app.kubernetes.io/instance"
	ManagedBy    = "vllmctl"
)

// Options tune Build.
type Options struct {
	Version   string // vllmctl's version, for the version label ("dev" when empty)
	Namespace string // overrides x-vllmctl.kubernetes.namespace when set
}

// Engine is what one vLLM engine service becomes.
type Engine struct {
	Profile    string
	Service    string // the compose service
	Name       string // of the Deployment, Service and claim
	GPUs       int
	Deployment *appsv1.Deployment
	Svc        *corev1.Service
	Claim      *corev1.PersistentVolumeClaim // nil when an existing claim or a hostPath holds the cache

	// What the other exporters (production-stack, KubeAI) map from.
	src      *project.Service
	settings Settings
	tokens   []string // container command then args, secrets as $(VAR)
	startup  int32    // startupProbe failure threshold
	served   []string // the served names, when not src's (a rolled-back manifest's)
}

// Warning is something that could not be mapped, with where it is written.
type Warning struct {
	Profile string      `json:"profile"`
	Service string      `json:"service,omitempty"`
	Pos     project.Pos `json:"pos,omitzero"`
	Message string      `json:"message"`
}

func (w Warning) String() string {
	who := "profile " + w.Profile
	if w.Service != "" {
		who += ", service " + w.Service
	}
	if where := w.Pos.String(); where != "" {
		return where + ": " + w.Message + " (" + who + ")"
	}
	return who + ": " + w.Message
}

// SecretValue is one key of the project's Secret.
type SecretValue struct {
	Key   string
	Value string
	Known bool // false: the value comes from a variable nothing here sets
}

// Result is the export of a project's profiles.
type Result struct {
	Project   string // sanitized project name
	Namespace string
	Engines   []*Engine
	// SecretName is the project's Secret; Secrets its keys, sorted. Empty when
	// no profile uses a secret.
	SecretName string
	Secrets    []SecretValue
	Warnings   []Warning
}

// Secret returns the project's Secret with its values, or masked by mask when
// mask is not "" (nil when there is no secret).
func (r *Result) Secret(mask string) *corev1.Secret {
	if len(r.Secrets) == 0 {
		return nil
	}
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: r.SecretName, Namespace: r.Namespace, Labels: map[string]string{LabelProject: r.Project, LabelManaged: ManagedBy}},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{},
	}
	for _, v := range r.Secrets {
		val := v.Value
		if mask != "" && val != "" {
			val = mask
		}
		s.StringData[v.Key] = val
	}
	return s
}

// LocatedError is a refusal: a value Build cannot know, with where it is written.
type LocatedError struct {
	Problems []Warning
}

func (e *LocatedError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("cannot export: %d problem(s); nothing was written", len(e.Problems)))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// Build turns the named profiles (every profile when names is empty) into
// Kubernetes objects. It refuses, with a *LocatedError, values that come from
// variables nothing here sets.
func Build(p *project.Project, names []string, opts Options) (*Result, error) {
	profiles := p.Profiles
	if len(names) > 0 {
		profiles = nil
		for _, n := range names {
			pr, err := p.Profile(n)
			if err != nil {
				return nil, err
			}
			profiles = append(profiles, pr)
		}
	}
	b := &builder{p: p, opts: opts, secretByValue: map[string]string{}, secretVals: map[string]SecretValue{}}
	b.res = &Result{Project: dnsName(projectName(p)), Namespace: opts.Namespace}
	b.res.SecretName = b.res.Project + "-secrets"
	b.knownSecrets()
	for _, pr := range profiles {
		if pr.Compose == nil && len(pr.Services) == 0 {
			b.fail(Warning{Profile: pr.Name, Message: "the profile does not load: run `vllmctl check " + pr.Name + "`"})
			continue
		}
		engines := pr.Engines()
		if len(engines) == 0 {
			b.fail(Warning{Profile: pr.Name, Message: "no vLLM engine in this profile (mark one with x-vllmctl.engine: vllm)"})
			continue
		}
		for _, s := range pr.Services {
			if !s.Engine && !s.Template {
				b.warn(pr, s, "services."+s.Name, "not exported: not a vLLM engine (deploy it with its own manifests)")
			}
		}
		for _, s := range engines {
			name := pr.Name
			if len(engines) > 1 {
				name = pr.Name + "-" + s.Name
			}
			if e := b.engine(pr, s, dnsName(name)); e != nil {
				b.res.Engines = append(b.res.Engines, e)
			}
		}
	}
	if len(b.problems) > 0 {
		return nil, &LocatedError{Problems: b.problems}
	}
	for _, v := range b.secretVals {
		b.res.Secrets = append(b.res.Secrets, v)
	}
	sort.Slice(b.res.Secrets, func(i, j int) bool { return b.res.Secrets[i].Key < b.res.Secrets[j].Key })
	if len(b.res.Secrets) == 0 {
		b.res.SecretName = ""
	}
	return b.res, nil
}

func projectName(p *project.Project) string {
	if p.Config.ProjectName != "" {
		return p.Config.ProjectName
	}
	return path.Base(strings.ReplaceAll(p.Root, "\\", "/"))
}

type builder struct {
	p        *project.Project
	opts     Options
	res      *Result
	problems []Warning
	// secretByValue maps a known secret value to its variable, longest first in secretOrder.
	secretByValue map[string]string
	secretOrder   []string
	secretVals    map[string]SecretValue
}

func (b *builder) warn(pr *project.Profile, s *project.Service, at, msg string) {
	pos, _ := pr.PosOf(at)
	b.res.Warnings = append(b.res.Warnings, Warning{Profile: pr.Name, Service: s.Name, Pos: pos, Message: msg})
}

// rel shows a bind mount's source relative to the project root.
func (b *builder) rel(src string) string {
	if filepath.IsAbs(src) {
		if r, err := filepath.Rel(b.p.Root, src); err == nil && !strings.HasPrefix(r, "..") {
			return "./" + filepath.ToSlash(r)
		}
	}
	return src
}

func (b *builder) fail(w Warning) { b.problems = append(b.problems, w) }

func (b *builder) failAt(pr *project.Profile, s *project.Service, at string, pos project.Pos, msg string) {
	if pos.File == "" {
		pos, _ = pr.PosOf(at)
	}
	b.fail(Warning{Profile: pr.Name, Service: s.Name, Pos: pos, Message: msg})
}

// knownSecrets collects the secret-named variables the project knows, so that
// their values are recognised wherever they were interpolated.
func (b *builder) knownSecrets() {
	add := func(k, v string) {
		if project.IsSecretName(k) && len(v) >= 4 {
			if _, ok := b.secretByValue[v]; !ok {
				b.secretByValue[v] = k
			}
		}
	}
	if b.p.Env != nil {
		keys := make([]string, 0, len(b.p.Env.Values))
		for k := range b.p.Env.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(k, b.p.Env.Values[k])
		}
	}
	env := b.p.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, env[k])
	}
	for v := range b.secretByValue {
		b.secretOrder = append(b.secretOrder, v)
	}
	sort.Slice(b.secretOrder, func(i, j int) bool {
		if len(b.secretOrder[i]) != len(b.secretOrder[j]) {
			return len(b.secretOrder[i]) > len(b.secretOrder[j])
		}
		return b.secretOrder[i] < b.secretOrder[j]
	})
}

// secretKey records a secret value under key, or under key_<SUFFIX> when key
// already holds another value; it returns the key used.
func (b *builder) secretKey(key, value, suffix string, known bool) string {
	k := key
	if old, ok := b.secretVals[k]; ok && (old.Value != value || old.Known != known) {
		k = key + "_" + envName(suffix)
	}
	b.secretVals[k] = SecretValue{Key: k, Value: value, Known: known}
	return k
}

// secretArg replaces the secret values inside one argv token by $(VAR)
// references, adding VAR to refs.
func (b *builder) secretArg(tok string, refs map[string]bool) string {
	for _, v := range b.secretOrder {
		if strings.Contains(tok, v) {
			k := b.secretKey(b.secretByValue[v], v, "", true)
			tok = strings.ReplaceAll(tok, v, "$("+k+")")
			refs[k] = true
		}
	}
	return tok
}

var unknownRe = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// unknownVars names the variables of a token holding unknown marks.
func unknownVars(tok string) string {
	shown := vllm.ShowUnknown(tok)
	var names []string
	for _, m := range unknownRe.FindAllStringSubmatch(shown, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		return shown
	}
	return strings.Join(names, ", ")
}

func (b *builder) engine(pr *project.Profile, s *project.Service, name string) *Engine {
	st, err := settingsOf(pr, s)
	if err != nil {
		b.fail(Warning{Profile: pr.Name, Service: s.Name, Message: err.Error()})
		return nil
	}
	if b.opts.Namespace == "" && st.Namespace != "" {
		if b.res.Namespace != "" && b.res.Namespace != st.Namespace {
			b.warn(pr, s, "services."+s.Name+"."+project.ExtKey+"."+SettingsKey+".namespace",
				fmt.Sprintf("namespace %q differs from %q of another profile: every object goes to %q (export profiles of other namespaces separately, or pass --namespace)", st.Namespace, b.res.Namespace, b.res.Namespace))
		} else {
			b.res.Namespace = st.Namespace
		}
	}
	sc := s.Config
	at := "services." + s.Name
	nproblems := len(b.problems)

	// Image.
	image := sc.Image
	switch {
	case vllm.HasUnknown(image):
		b.failAt(pr, s, at+".image", project.Pos{}, "image "+vllm.ShowUnknown(image)+" comes from "+unknownVars(image)+", which nothing here sets")
	case image == "":
		b.failAt(pr, s, at+".build", project.Pos{}, "no image: the engine is built from a Dockerfile; push the image to a registry the cluster pulls from and set image: beside build:")
	}

	// Command and secrets in it.
	refs := map[string]bool{}
	conv := func(list []string, field string, offset int) []string {
		if list == nil {
			return nil
		}
		out := make([]string, 0, len(list))
		for i, tok := range list {
			if vllm.HasUnknown(tok) && !b.unknownSecretToken(tok) {
				pos := pr.ArgPos(s, offset+i, strings.SplitN(vllm.ShowUnknown(tok), "=", 2)[0])
				b.failAt(pr, s, fmt.Sprintf("%s.%s.%d", at, field, i), pos, fmt.Sprintf("%s %q comes from %s, which nothing here sets", field, vllm.ShowUnknown(tok), unknownVars(tok)))
				continue
			}
			tok = strings.ReplaceAll(tok, "$(", "$$(") // Kubernetes expands $(VAR) in command and args
			tok = b.secretArg(tok, refs)
			tok = b.unknownSecretArg(tok, refs)
			out = append(out, tok)
		}
		return out
	}
	command := conv(sc.Entrypoint, "entrypoint", 0)
	args := conv(sc.Command, "command", len(sc.Entrypoint))
	if s.Args.APIKey != "" && !vllm.HasUnknown(s.Args.APIKey) {
		// A key written in the file itself, not through a variable.
		lit := s.Args.APIKey
		if _, known := b.secretByValue[lit]; !known {
			k := b.secretKey(envName(name)+"_API_KEY", lit, name, true)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], lit, "$("+k+")")
			}
			for i := range command {
				command[i] = strings.ReplaceAll(command[i], lit, "$("+k+")")
			}
			refs[k] = true
		}
	}

	// Environment.
	var env []corev1.EnvVar
	envKeys := make([]string, 0, len(sc.Environment))
	for k := range sc.Environment {
		envKeys = append(envKeys, k)
	}
	sort.Strings(envKeys)
	inEnv := map[string]bool{}
	for _, k := range envKeys {
		v := sc.Environment[k]
		if v == nil {
			b.warn(pr, s, at+".environment."+k, "environment "+k+" has no value here (compose passes the host's): not exported")
			continue
		}
		val := *v
		secretKey := ""
		switch {
		case project.IsSecretName(k):
			known := !vllm.HasUnknown(val)
			if !known {
				val = ""
			}
			secretKey = b.secretKey(k, val, name, known)
		case b.secretByValue[val] != "":
			secretKey = b.secretKey(b.secretByValue[val], val, name, true)
		case vllm.HasUnknown(val):
			b.failAt(pr, s, at+".environment."+k, project.Pos{}, fmt.Sprintf("environment %s comes from %s, which nothing here sets", k, unknownVars(val)))
			continue
		}
		inEnv[k] = true
		if secretKey != "" {
			env = append(env, secretEnv(k, secretKey, b.res.SecretName))
			continue
		}
		env = append(env, corev1.EnvVar{Name: k, Value: strings.ReplaceAll(val, "$(", "$$(")})
	}
	refKeys := make([]string, 0, len(refs))
	for k := range refs {
		if !inEnv[k] {
			refKeys = append(refKeys, k)
		}
	}
	sort.Strings(refKeys)
	// Variables referenced as $(VAR) must be defined before the container's
	// command is expanded: they go first.
	var first []corev1.EnvVar
	for _, k := range refKeys {
		first = append(first, secretEnv(k, k, b.res.SecretName))
	}
	env = append(first, env...)

	// GPUs.
	gpus := s.GPUs.N()
	switch {
	case st.GPUs != nil:
		gpus = *st.GPUs
	case s.GPUs.Unknown:
		b.failAt(pr, s, s.GPUs.Path, project.Pos{}, "the GPU selection comes from a variable nothing here sets: set it, or x-vllmctl.kubernetes.gpus")
	case s.GPUs.All:
		// vLLM uses tensor × pipeline × data parallel size GPUs, whatever
		// the host shows it: that is the count the pod needs.
		if s.Args.ParallelKnown() {
			n := s.Args.GPUsNeeded()
			gpus = n
			b.warn(pr, s, s.GPUs.Path, fmt.Sprintf("the service takes all GPUs of the host: exported asking %d, the GPUs vLLM uses (tensor × pipeline × data parallel size); set x-vllmctl.kubernetes.gpus to ask another count", n))
		} else {
			b.failAt(pr, s, s.GPUs.Path, project.Pos{}, "the service takes all GPUs of the host and its parallel sizes are unknown here: Kubernetes needs a count; set x-vllmctl.kubernetes.gpus (or a count in deploy.resources.reservations.devices)")
		}
	case gpus == 0:
		b.warn(pr, s, at, "no GPU reserved: the Deployment asks for none (set x-vllmctl.kubernetes.gpus when the engine needs some)")
	}
	if tp := s.Args.TensorParallelSize * max(s.Args.PipelineParallelSize, 1); gpus > 0 && tp > gpus {
		b.warn(pr, s, at, fmt.Sprintf("tensor × pipeline parallel size %d is more than the %d GPU(s) asked for", tp, gpus))
	}
	if len(b.problems) > nproblems {
		return nil
	}

	// Resources.
	res := corev1.ResourceRequirements{}
	gpuRes := corev1.ResourceName(DefaultGPUResource)
	if st.GPUResource != "" {
		gpuRes = corev1.ResourceName(st.GPUResource)
	}
	if gpus > 0 {
		res.Limits = corev1.ResourceList{gpuRes: *resource.NewQuantity(int64(gpus), resource.DecimalSI)}
	}
	if sc.Deploy != nil {
		lim := sc.Deploy.Resources.Limits
		if lim != nil && lim.MemoryBytes > 0 {
			if res.Limits == nil {
				res.Limits = corev1.ResourceList{}
			}
			res.Limits[corev1.ResourceMemory] = *resource.NewQuantity(int64(lim.MemoryBytes), resource.BinarySI)
		}
		if lim != nil && lim.NanoCPUs > 0 {
			if res.Limits == nil {
				res.Limits = corev1.ResourceList{}
			}
			res.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Round(float64(lim.NanoCPUs)*1000)), resource.DecimalSI)
		}
	}

	// Port.
	port := int32(8000)
	if s.Args.Port > 0 {
		port = int32(s.Args.Port)
	}
	// Without --port, the target of the first published port (an image whose
	// entrypoint listens elsewhere).
	if s.Args.Port == 0 && len(s.Ports) > 0 && s.Ports[0].Target > 0 {
		port = int32(s.Ports[0].Target)
	}

	// Volumes: the HF cache, /dev/shm; other mounts are listed.
	var vols []corev1.Volume
	var mounts []corev1.VolumeMount
	cacheTarget := hfCacheTarget(sc)
	var claim *corev1.PersistentVolumeClaim
	cacheVol := corev1.Volume{Name: "hf-cache"}
	switch {
	case st.HFCache.Claim != "":
		cacheVol.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: st.HFCache.Claim}
	case st.HFCache.HostPath != "":
		t := corev1.HostPathDirectoryOrCreate
		cacheVol.HostPath = &corev1.HostPathVolumeSource{Path: st.HFCache.HostPath, Type: &t}
	default:
		claim = b.claim(name, st.HFCache)
		cacheVol.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name}
	}
	vols = append(vols, cacheVol)
	mounts = append(mounts, corev1.VolumeMount{Name: "hf-cache", MountPath: cacheTarget})
	shm := corev1.Volume{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}
	if sc.ShmSize > 0 {
		q := resource.NewQuantity(int64(sc.ShmSize), resource.BinarySI)
		shm.EmptyDir.SizeLimit = q
	} else if sc.Ipc == "host" {
		b.warn(pr, s, at+".ipc", "ipc: host has no Kubernetes counterpart: /dev/shm is a memory emptyDir without a size limit (set shm_size to bound it)")
	}
	vols = append(vols, shm)
	mounts = append(mounts, corev1.VolumeMount{Name: "dshm", MountPath: "/dev/shm"})
	for i, v := range sc.Volumes {
		if v.Target == cacheTarget || v.Target == "/dev/shm" {
			continue
		}
		b.warn(pr, s, fmt.Sprintf("%s.volumes.%d", at, i), fmt.Sprintf("volume %s → %s not exported: mount it with a ConfigMap or a claim of your own", b.rel(v.Source), v.Target))
	}
	if sc.NetworkMode == "host" {
		b.warn(pr, s, at+".network_mode", "network_mode: host not exported: the engine is reached through its Service")
	}
	if sc.Privileged {
		b.warn(pr, s, at+".privileged", "privileged not exported: add a securityContext yourself if the engine needs it")
	}

	// Probes.
	startup, why := startupBudget(s, st)
	health := corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}}
	const period = 10
	container := corev1.Container{
		Name:         "vllm",
		Image:        image,
		Command:      command,
		Args:         args,
		Env:          env,
		Ports:        []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
		Resources:    res,
		VolumeMounts: mounts,
		StartupProbe: &corev1.Probe{ProbeHandler: health, PeriodSeconds: period, TimeoutSeconds: 5,
			FailureThreshold: int32(math.Ceil(startup.Seconds() / period))},
		ReadinessProbe: &corev1.Probe{ProbeHandler: health, PeriodSeconds: 5, TimeoutSeconds: 5, FailureThreshold: 3},
		LivenessProbe:  &corev1.Probe{ProbeHandler: health, PeriodSeconds: 30, TimeoutSeconds: 10, FailureThreshold: 3},
	}
	if sc.WorkingDir != "" {
		container.WorkingDir = sc.WorkingDir
	}
	pod := corev1.PodSpec{
		Containers:   []corev1.Container{container},
		Volumes:      vols,
		NodeSelector: st.NodeSelector,
		Tolerations:  st.Tolerations,
		Affinity:     st.Affinity,
	}
	if st.RuntimeClass != "" {
		pod.RuntimeClassName = &st.RuntimeClass
	}
	hash := podHash(pod)
	sel := map[string]string{LabelProject: b.res.Project, LabelProfile: dnsLabel(pr.Name), LabelService: dnsLabel(s.Name)}
	labels := map[string]string{LabelName: "vllm", LabelInst: name, LabelManaged: ManagedBy, LabelHash: hash, LabelVersion: versionLabel(b.opts.Version)}
	for k, v := range sel {
		labels[k] = v
	}
	meta := func() metav1.ObjectMeta {
		l := make(map[string]string, len(labels))
		for k, v := range labels {
			l[k] = v
		}
		return metav1.ObjectMeta{Name: name, Namespace: b.res.Namespace, Labels: l,
			Annotations: map[string]string{"vllmctl.dev/source": pr.File}}
	}
	one := int32(1)
	dm := meta()
	dm.Annotations["vllmctl.dev/startup-budget"] = startup.String() + " (" + why + ")"
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: dm,
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: meta().Labels}, Spec: pod},
		},
	}
	svcType := corev1.ServiceType(st.ServiceType)
	if svcType == "" {
		svcType = corev1.ServiceTypeClusterIP
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(),
		Spec: corev1.ServiceSpec{
			Type:     svcType,
			Selector: sel,
			Ports:    []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
	if claim != nil {
		claim.Namespace = b.res.Namespace
		claim.Labels = meta().Labels
		delete(claim.Labels, LabelHash) // the claim outlives configuration changes
		claim.Annotations = map[string]string{"vllmctl.dev/source": pr.File}
	}
	return &Engine{Profile: pr.Name, Service: s.Name, Name: name, GPUs: gpus, Deployment: dep, Svc: svc, Claim: claim,
		src: s, settings: st, tokens: append(append([]string(nil), command...), args...), startup: container.StartupProbe.FailureThreshold}
}

// unknownSecretToken: a token whose only unknown values are secret-named
// variables (--api-key=${KEY} with KEY unset): the Secret supplies them.
func (b *builder) unknownSecretToken(tok string) bool {
	shown := vllm.ShowUnknown(tok)
	ms := unknownRe.FindAllStringSubmatch(shown, -1)
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		if !project.IsSecretName(m[1]) {
			return false
		}
	}
	return true
}

// unknownSecretArg turns the unknown marks of secret-named variables into $(VAR).
func (b *builder) unknownSecretArg(tok string, refs map[string]bool) string {
	if !vllm.HasUnknown(tok) {
		return tok
	}
	shown := vllm.ShowUnknown(tok)
	return unknownRe.ReplaceAllStringFunc(shown, func(m string) string {
		name := unknownRe.FindStringSubmatch(m)[1]
		b.secretKey(name, "", "", false)
		refs[name] = true
		return "$(" + name + ")"
	})
}

func secretEnv(name, key, secret string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

func (b *builder) claim(name string, c HFCache) *corev1.PersistentVolumeClaim {
	size := c.Size
	if size == "" {
		size = DefaultCacheSize
	}
	mode := corev1.ReadWriteOnce
	if c.AccessMode != "" {
		mode = corev1.PersistentVolumeAccessMode(c.AccessMode)
	}
	pvc := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: name + "-hf-cache"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if c.StorageClass != "" {
		sc := c.StorageClass
		pvc.Spec.StorageClassName = &sc
	}
	return pvc
}

// hfCacheTarget is where the engine keeps the Hugging Face cache: the target
// of a mount that holds it, else HF_HOME, else the default of the image.
func hfCacheTarget(sc types.ServiceConfig) string {
	for _, v := range sc.Volumes {
		if strings.Contains(v.Target, "huggingface") {
			return v.Target
		}
	}
	if v, ok := sc.Environment["HF_HOME"]; ok && v != nil && *v != "" && !vllm.HasUnknown(*v) {
		return *v
	}
	return "/root/.cache/huggingface"
}

// DefaultStartup is the startup budget when nothing says how long the model loads.
const DefaultStartup = 30 * time.Minute

// startupBudget is how long the startupProbe waits: x-vllmctl.kubernetes.
// startup_timeout, else the longer of the healthcheck's start period and a
// load estimate from the model's size (90 s + 10 s per billion parameters, as
// check's), else DefaultStartup.
func startupBudget(s *project.Service, st Settings) (time.Duration, string) {
	if d, err := time.ParseDuration(st.StartupTimeout); err == nil && d > 0 {
		return d, "x-vllmctl.kubernetes.startup_timeout"
	}
	var d time.Duration
	why := ""
	if b, ok := vllm.ParamsBillion(s.Args.Model); ok {
		d = 90*time.Second + time.Duration(b*10)*time.Second
		why = fmt.Sprintf("load estimate for %s", strconv.FormatFloat(b, 'f', -1, 64)+"B parameters")
	}
	if hc := s.Config.HealthCheck; hc != nil && hc.StartPeriod != nil && time.Duration(*hc.StartPeriod) > d {
		d, why = time.Duration(*hc.StartPeriod), "healthcheck start_period"
	}
	if d == 0 {
		return DefaultStartup, "model size unknown: default"
	}
	return d.Round(time.Second), why
}

func podHash(p corev1.PodSpec) string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName makes a DNS-1123 label of s (lower case, digits, '-'; at most 63).
func dnsName(s string) string {
	n := nonDNS.ReplaceAllString(strings.ToLower(s), "-")
	n = strings.Trim(n, "-")
	if len(n) > 53 { // room for "-hf-cache"
		n = strings.TrimRight(n[:53], "-")
	}
	if n == "" {
		n = "vllm"
	}
	return n
}

var nonLabel = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func dnsLabel(s string) string {
	n := strings.Trim(nonLabel.ReplaceAllString(s, "-"), "-_.")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-_.")
	}
	return n
}

func versionLabel(v string) string {
	if v == "" {
		v = "dev"
	}
	if l := dnsLabel(v); l != "" {
		return l
	}
	return "dev"
}

func envName(s string) string {
	return strings.ToUpper(strings.Trim(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(s, "_"), "_"))
}

// Package kube turns a project's profiles into Kubernetes objects: per vLLM
// engine a Deployment (strategy Recreate, nvidia.com/gpu limits from the
// profile's GPU count, scheduling from x-vllmctl.kubernetes), a Service, a
// PersistentVolumeClaim for the Hugging Face cache (or an existing claim or a
// hostPath, by setting), /dev/shm as a memory emptyDir sized from shm_size,
// a startupProbe sized from the model's load time, readiness and liveness on
// /health; and one Secret per project that every secret value goes to.
//
// Build is pure: it reads a loaded project.Project and returns typed
// k8s.io/api objects plus the warnings of what could not be mapped. Values
// that cannot be known here (unset variables) are never guessed: Build
// refuses with the file and line that wrote them. Secret values appear only
// in the Secret object; Render writes it to its own file, with the values
// masked unless the caller asks for them.
package kube

// Package resolve renders a profile as the stand-alone compose file that is
// deployed: the merged, interpolated compose model with '$' escaped, secret
// values put back as ${KEY} references to the root .env, vllmctl's labels
// (project, profile, service, config hash, version, deploy id) and, for
// --simulate, the vllm-sim image and flags. It is a pure function of the
// loaded project: deploy writes its result before every deploy, and an
// exporter can use it without importing deploy or runtime.
// resolve → project, gpu; ✗ runtime, deploy.
package resolve

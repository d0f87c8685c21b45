// Package project finds a vllmctl project on disk and loads it the way Docker
// and vLLM will: the optional base compose file, one compose overlay per
// profile (or the files vllmctl.yaml's profiles: lists), the root .env and
// vllmctl.yaml. Compose files are loaded with compose-spec/compose-go (merge,
// extends, interpolation exactly as Compose does it, but with the root .env),
// and read a second time, leniently, when compose refuses them or when values
// cannot be known here (unset variables stay vllm.UnknownMark, never empty).
// A parallel YAML node tree keeps the file, line and column of every value so
// that diagnostics point at the file that set it.
//
// Each service is recognised as a vLLM engine or not (engine.go, recognise.go:
// image, Dockerfile, command, shell scripts through internal/shellcmd, flags,
// x-vllmctl.engine), and its vLLM release is read from the image tag, the
// Dockerfile FROM or x-vllmctl.vllm_version. It owns Diagnostic.
package project

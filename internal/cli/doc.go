// Package cli is vllmctl's command table: it turns flags into options, calls one
// verb of the core packages and renders what comes back as a table, JSON or
// YAML. It maps errors to exit codes in one place: 0 ok, 1 findings or failure,
// 2 usage or a project that cannot be loaded. Nothing imports it.
//
// One file per command: its flags, its cobra.Command and its run function
// (up.go, down.go, status.go, serve.go, export_<target>.go, ...). Shared
// pieces: root.go (Main, exit codes, the env every command gets, profile
// loading and secret masking), output.go (-o table/json/yaml), deploy.go
// (runtime flags and locating deployed profiles), gpus.go (GPU flags). The
// daemon of serve lives in internal/serve; cli only wires its flags.
package cli

// Package vllm holds pure knowledge about vLLM: its command-line flags and their
// defaults, how `vllm serve` parses a command line (values that cannot be known
// stay unknown: UnknownMark, Args.SourceOf), the parser registries and the flags
// that changed meaning between versions. Its own flag table was checked against
// vLLM 0.10–0.11 `vllm serve --help` and ../shared/vllm/FACTS.md (§6); flags of
// other releases come from the versioned table in vllm/flagdb, its only import
// from this module.
package vllm

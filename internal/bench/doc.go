// Package bench measures an OpenAI-compatible engine and compares
// measurements. Run is a closed-loop streaming load generator: at each
// concurrency level, that many workers send /v1/chat/completions requests
// back to back for a duration, and every request's time to first token,
// inter-token gaps, end-to-end latency and output tokens are recorded.
// Probes are quality checks (expected answers or tool calls). A Result is
// stored as JSON under .vllmctl/bench/ (Store) with what was measured (deploy
// id, config hash, vLLM version, GPUs, or "unknown"); Compare puts two results
// side by side with bootstrap confidence intervals and McNemar's test on
// paired probe outcomes; Plot draws throughput against latency as SVG.
//
// It does no deploys: PortTarget and GatewayTarget turn a loaded profile into
// a Target, and Facts fills a Result's metadata from the state folder.
package bench

// Package sim is a vLLM engine simulator: it takes vLLM's own command line,
// prints vLLM's startup log with numbers that follow from the config and a
// simulated GPU, fails with vLLM's exact error text when the config would not
// fit, keeps its port closed until ready, then serves the OpenAI API, /health,
// /v1/models, /metrics (client_golang, vLLM's V1 names) with a latency model,
// a --max-num-seqs concurrency cap, and fault injection for tests and demos.
// cmd/vllm-sim wraps it; `vllmctl up --simulate` runs profiles on it.
package sim

// Package plan answers "will it fit?" before a deploy: weights, activation
// peak, non-torch memory, CUDA graphs and the KV cache per GPU, the KV cache
// tokens and concurrency vLLM will report, and a verdict with the change that
// would make a failing profile fit. It follows vLLM's own method (FACTS.md §5)
// and is pure: model facts, GPUs and flags come in as values. The few numbers
// that are fitted rather than derived live in Overheads.
package plan

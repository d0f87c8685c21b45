// Package dashboard is the read-only web page `vllmctl serve` shows at "/" of
// its address: every profile with its readiness, watchdog state and recent
// transitions, KV cache usage, running and waiting requests, tokens/s and
// time to first token over the last hour, the last deploys with their outcome
// and time to ready, and a log tail with vLLM's startup phases marked.
//
// A Sampler reads each engine's /metrics (Prometheus text, old and new vLLM
// names) every Interval into a fixed Ring per profile, and the profiles' log
// tails and deploy records alongside; a Dashboard renders that memory with
// html/template (no request reaches an engine while rendering). Pages are
// server-rendered with one small inline script that polls a fragment every few
// seconds and announces state changes in an aria-live region; nothing is
// loaded from elsewhere. With gateway keys set, the page asks for one (a
// login form, or ?key= once) and keeps a signed, HttpOnly session cookie.
//
// dashboard → serve (Snapshot), deploy (records), gateway (Key), vllm (log
// phases); serve does not import it: cli mounts it with serve.Server.Handle.
package dashboard

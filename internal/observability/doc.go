// Package observability turns the project's engines into monitoring
// configuration: a Prometheus scrape configuration (every engine's /metrics
// and the gateway's, labelled with profile, model and config hash), alert
// rules, and Grafana dashboards. It is pure: targets, objectives and timings
// come in as values, file contents go out; the CLI reads the project and
// writes the files.
//
// Rules and panels are built from typed values (Rule, Panel) over a
// vocabulary of metric names (Metric) that knows vLLM's renames across
// releases: every query that reads a renamed metric reads both names, joined
// with `or` after aggregating away the metric name, so a dashboard or an
// alert keeps working across an engine upgrade and never counts a series
// twice on releases that emit both.
package observability

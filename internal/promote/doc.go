// Package promote replaces a live profile by a candidate that runs on the
// same GPUs (an alternative of it), and keeps the candidate only when it
// measures at least as well: it benchmarks the live profile, deploys the
// candidate in its place through internal/deploy (which brings the live
// profile back if the candidate never becomes ready), sends a smoke request,
// benchmarks the candidate and runs the probe set, judges both against the
// gate with bench.Compare, then keeps the candidate (the live profile's files
// archived as "superseded by …") or deploys the live profile again (the
// candidate's files archived as "rejected: <measured reason>").
//
// Every step is written to a journal (.vllmctl/promote/<id>.json) before and
// after it runs, with the profile believed to run. Recover finishes what a
// killed promotion left: when neither profile runs (killed between stopping
// the live profile and starting the candidate) it deploys the live profile
// again; otherwise it records which one runs and completes a decided archive.
package promote

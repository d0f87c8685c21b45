// Package serve is the long-running mode of vllmctl: one Server holds the
// loaded project and the engines it last saw, publishes the gateway's route
// table (Refresh), observes engines for the watchdog (Observe), restarts them
// by replaying their last deploy (Restart), starts on-demand profiles on a
// first request after evicting their swap group (Start), and reads the
// gateway's client keys from the root .env (Keys).
//
// Its HTTP side is one ServeMux: Serve mounts the gateway on "/" and the
// Prometheus registry on "GET /metrics"; anything else that lives on the
// serve address (a dashboard, alert endpoints) is added with Handle before
// Serve and reads the daemon through Snapshot, an immutable view of the
// profiles' routes, watchdog states and recent transitions.
//
// cli only turns flags into Options; everything the daemon does is here.
// serve → deploy, gateway, watchdog, metrics, monitor, project; nothing
// below it imports it.
package serve

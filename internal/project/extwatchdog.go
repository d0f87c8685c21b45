package project

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a duration as Go writes it ("15s", "2m", "1h30m"), decoded
// from a YAML or JSON string.
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as 15s or 2m, got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 15s or 2m, got %q", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string ("15s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// WatchdogExt is x-vllmctl.watchdog: how `serve` and `watch` watch the engine.
// A zero field takes the watchdog's default (the one table is
// watchdog.Config.Defaults; the schema's descriptions repeat it).
type WatchdogExt struct {
	Interval           Duration `json:"interval,omitempty"`            // between observations. Default: 15s.
	Warmup             Duration `json:"warmup,omitempty"`              // completion failures not counted after a (re)start. Default: 2m.
	CompletionDeadline Duration `json:"completion_deadline,omitempty"` // the tiny completion must answer within. Default: 20s.
	HealthTimeout      Duration `json:"health_timeout,omitempty"`      // bound on one GET /health. Default: 5s, at most Interval.
	StallAfter         Duration `json:"stall_after,omitempty"`         // no startup phase for this long while booting. Default: 15m.
	WedgeAfter         int      `json:"wedge_after,omitempty"`         // completion deadline misses in a row before a restart. Default: 3.
	HungAfter          int      `json:"hung_after,omitempty"`          // failing health cycles in a row before a restart. Default: 3.
	// Restart: false reports only. Default: true (nil).
	Restart *bool `json:"restart,omitempty"`
}

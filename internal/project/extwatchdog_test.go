package project

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeExtWatchdog: x-vllmctl.watchdog decodes once into typed values;
// a watchdog of the wrong shape keeps the rest of the block.
func TestDecodeExtWatchdog(t *testing.T) {
	no := false
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want *Ext
	}{
		{"typed", map[string]any{"aliases": []any{"m"}, "watchdog": map[string]any{"interval": "30s", "stall_after": "1h30m", "wedge_after": 5, "restart": false}},
			&Ext{Aliases: []string{"m"}, Watchdog: &WatchdogExt{Interval: Duration(30 * time.Second), StallAfter: Duration(90 * time.Minute), WedgeAfter: 5, Restart: &no}}},
		{"absent", map[string]any{"on_demand": true}, &Ext{OnDemand: true}},
		{"bad duration keeps the rest", map[string]any{"aliases": []any{"m"}, "watchdog": map[string]any{"interval": "soon"}}, &Ext{Aliases: []string{"m"}}},
		{"bad type keeps the rest", map[string]any{"group": "g", "watchdog": map[string]any{"hung_after": "three"}}, &Ext{Group: "g"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, decodeExt(tc.raw)); diff != "" {
				t.Errorf("decodeExt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"2m"`)); err != nil || d != Duration(2*time.Minute) {
		t.Fatalf("2m: %v, %v", time.Duration(d), err)
	}
	if b, _ := d.MarshalJSON(); string(b) != `"2m0s"` {
		t.Errorf("MarshalJSON: %s, want \"2m0s\"", b)
	}
	if err := d.UnmarshalJSON([]byte(`15`)); err == nil {
		t.Error("a number decoded as a duration, want an error")
	}
}

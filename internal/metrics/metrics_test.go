package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, []string{"medium"})
	m.Request("medium", "/v1/chat/completions", 200, time.Second, 10*time.Millisecond)
	m.Request("secret-model-name-from-a-client", "/v1/chat/completions", 404, time.Millisecond, 0)
	m.Retry("medium")
	m.EngineReady("medium", true)
	m.Transition("medium", "healthy", "wedged", "restart")
	want := `
# HELP vllmctl_gateway_requests_total Requests through the gateway by model, route and status class.
# TYPE vllmctl_gateway_requests_total counter
vllmctl_gateway_requests_total{model="medium",route="/v1/chat/completions",status="2xx"} 1
vllmctl_gateway_requests_total{model="other",route="/v1/chat/completions",status="4xx"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vllmctl_gateway_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(m.state.WithLabelValues("medium", "wedged")); n != 1 {
		t.Fatalf("state gauge %v", n)
	}
	if n := testutil.ToFloat64(m.retries.WithLabelValues("medium")); n != 1 {
		t.Fatalf("retries %v", n)
	}
}

//go:build nometrics

package supervisor_test

import (
	"strings"
	"testing"

	"pktfwd/supervisor"
)

// metricsBuilt tells the tests whether this build serves /metrics.
const metricsBuilt = false

// Under nometrics, METRICS_ADDR is a configuration error, not silence.
func TestNoMetrics_MetricsAddrIsAConfigurationError(t *testing.T) {
	h := newHarness(t)
	h.cfg.MetricsAddr = ":9102"
	err := h.cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") || !strings.Contains(err.Error(), "nometrics") {
		t.Fatalf("got %v, want an error naming METRICS_ADDR and the nometrics build", err)
	}
	if _, err := supervisor.New(h.cfg, h.opt); err == nil {
		t.Error("New accepted METRICS_ADDR in a nometrics build")
	}
}

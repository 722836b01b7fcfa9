//go:build !nometrics

package supervisor_test

import (
	"errors"
	"strings"
	"testing"

	"pktfwd/supervisor"
)

// metricsBuilt tells the tests whether this build serves /metrics.
const metricsBuilt = true

// A METRICS_ADDR whose port is not 0 to 65535 is refused by name.
func TestValidate_MetricsAddrPort(t *testing.T) {
	for _, v := range []string{"127.0.0.1:99999", ":65536", ":-1", "127.0.0.1:", ":http", "localhost"} {
		c := validConfig()
		c.MetricsAddr = v
		var errs supervisor.ConfigErrors
		if !errors.As(c.Validate(), &errs) || len(errs) != 1 || errs[0].Variable != "METRICS_ADDR" || !strings.Contains(errs[0].Reason, "1 to 65535") {
			t.Errorf("METRICS_ADDR=%s: got %v, want one error naming METRICS_ADDR and the port range", v, errs)
		}
	}
	for _, v := range []string{"127.0.0.1:65535", ":9102", "[::1]:1", "127.0.0.1:0"} {
		c := validConfig()
		c.MetricsAddr = v
		if err := c.Validate(); err != nil {
			t.Errorf("METRICS_ADDR=%s: %v", v, err)
		}
	}
}

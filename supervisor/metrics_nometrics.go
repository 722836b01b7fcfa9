//go:build nometrics

package supervisor

import (
	"context"
	"errors"
)

// The nometrics tag leaves out the /metrics and /healthz endpoint and with
// it the standard library's HTTP server (about 4 MB of a lean binary);
// `pktfwd health` and status.json carry the same verdict.
var errNoMetrics = errors.New("this pktfwd is built with -tags nometrics and has no /metrics endpoint: " +
	"unset METRICS_ADDR (pktfwd health and status.json hold the same figures), or use the full build")

// checkMetricsAddr rejects METRICS_ADDR, so that a setting the build cannot
// honour is a configuration error rather than silence.
func checkMetricsAddr(addr string) error {
	if addr == "" {
		return nil
	}
	return errNoMetrics
}

// serveMetrics never runs: Validate has refused METRICS_ADDR.
func (s *Supervisor) serveMetrics(ctx context.Context) { <-ctx.Done() }

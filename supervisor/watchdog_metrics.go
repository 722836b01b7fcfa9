//go:build !nometrics

package supervisor

import (
	"io"
	"time"
)

// writeWatchdogMetrics writes the watchdog's view of the upstream and the
// age of the latest block, for writeMetrics. Names follow Prometheus's
// conventions (docs/watchdog.md); no label takes a value from outside.
func writeWatchdogMetrics(w io.Writer, st Status) {
	r := st.Radio
	if r == nil {
		return
	}
	gauge := func(name, help string, v float64) {
		writeFamily(w, name, "gauge", help, sample{value: v})
	}
	is := func(state string) float64 {
		if r.Upstream.State == state {
			return 1
		}
		return 0
	}
	gauge("pktfwd_upstream_lost", "1 while the upstream answers neither PUSH_DATA nor PULL_DATA (reported, never a restart).", is("lost"))
	gauge("pktfwd_upstream_downlink_lost", "1 while PULL_DATA goes unacknowledged though PUSH_DATA is answered.", is("downlink_lost"))
	if a, ok := r.blockAge(time.Now(), 0); ok && r.Watchdog.StallRuleOff == "" {
		gauge("pktfwd_last_stat_block_age_seconds", "Time since the latest statistics block arrived (monotonic clock).", a.Seconds())
	}
}

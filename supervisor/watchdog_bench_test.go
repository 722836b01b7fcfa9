package supervisor_test

import (
	"testing"
	"time"

	"pktfwd/supervisor"
)

// BenchmarkWatchdogDecision runs the supervisor with the simulated
// forwarder at stat_interval 1 s, breaks one rule per sub-benchmark and
// reports the time from the last good block (or the last acknowledgement,
// or the last packet) to the restart decision, and how far that is past the
// rule's threshold. Goal for a stall: within 2.5 intervals + 50 ms.
//
//	go test -run X -bench WatchdogDecision -benchtime 3x ./supervisor
func BenchmarkWatchdogDecision(b *testing.B) {
	for _, tc := range []struct {
		name, mode, rule string
		threshold        time.Duration
		noAck, noRx      float64
	}{
		{"stalled", "stall:1.5s", supervisor.RuleStalled, 2500 * time.Millisecond, 0, 0},
		{"wedged-frozen", "freeze-counter:1.5s", supervisor.RuleWedged, 3 * time.Second, 0, 0},
		{"wedged-unknown", "counter-unknown:1.5s", supervisor.RuleWedged, 3 * time.Second, 0, 0},
		{"radio-silent", "silent", supervisor.RuleRadioSilent, 3 * time.Second, 0, 3},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var total, worst time.Duration
			for n := 0; n < b.N; n++ {
				h, _ := watchHarnessEvery(b, tc.mode, time.Second)
				h.cfg.WatchdogNoAckSeconds, h.cfg.WatchdogNoRxSeconds = tc.noAck, tc.noRx
				h.start()
				e, _ := h.wait(tc.rule, 0, verdict(tc.rule))
				w := e.Radio.Watchdog
				d := w.At.Sub(*w.Since)
				total += d
				worst = max(worst, d)
				h.stop()
			}
			b.ReportMetric(float64(total)/float64(b.N)/1e6, "ms-to-decision")
			b.ReportMetric(float64(total/time.Duration(b.N)-tc.threshold)/1e6, "ms-past-threshold")
			b.ReportMetric(float64(worst-tc.threshold)/1e6, "worst-ms-past-threshold")
		})
	}
}

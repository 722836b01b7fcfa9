package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
)

// writeTable prints one row per rate and path. Latency is per rxpk, from
// the emulator's send to a sink's receive; for a relay the worst of its
// sinks is shown, and "added" is that minus the direct baseline of the
// same rate (a difference of percentiles: under noise it can be negative).
// The emulator's largest lag behind its send schedule shows the machine's
// own stalls during the run.
func writeTable(w io.Writer, rows [][]result, backends int) {
	fmt.Fprintf(w, "%d upstreams (sinks) behind each relay, 1 rxpk per PUSH_DATA, 1 PULL_RESP/s; %s/%s, %d CPUs\n\n", backends, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintln(w, "| rate/s | path | lost / sent | reordered % | p50 ms | p99 ms | max ms | added p50 / p99 ms | PUSH_ACK p50 ms | downlink p50 ms | relay CPU % of a core, avg (peak) | relay RSS MiB start / max / end | kernel drops | host busy % | emulator max lag ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, row := range rows {
		direct := row[0]
		dp50, dp99 := worst(direct)
		for i, r := range row {
			p50, p99 := worst(r)
			sent := r.Fwd.RxpkSent * len(r.Sinks)
			lost, reordered, maxMs := 0, 0, 0.0
			for _, s := range r.Sinks {
				lost += s.Lost
				reordered += s.Reordered
				maxMs = max(maxMs, s.Latency.Max)
			}
			added := "-"
			if i > 0 {
				added = fmt.Sprintf("%.3f / %.2f", p50-dp50, p99-dp99)
			}
			fmt.Fprintf(w, "| %g | %s | %d / %d (%.3f%%) | %.1f | %.3f | %.2f | %.1f | %s | %.3f | %.3f | %s | %s | %s | %s | %.0f |\n",
				r.Rate, path(r.Label), lost, sent, pct(lost, sent), pct(reordered, sent), p50, p99, maxMs, added,
				r.Fwd.PushAckRTT.P50, r.Fwd.Downlink.P50, cpu(r), rss(r), drops(r), opt(r.Monitor.HostBusy, "%.0f"), r.Fwd.MaxLag)
		}
	}
}

// worst is the highest p50 and p99 over a run's sinks.
func worst(r result) (p50, p99 float64) {
	for _, s := range r.Sinks {
		p50, p99 = max(p50, s.Latency.P50), max(p99, s.Latency.P99)
	}
	return p50, p99
}

func path(label string) string {
	switch {
	case strings.HasPrefix(label, "direct"):
		return "direct (no relay)"
	case strings.HasPrefix(label, "pktfwd"):
		return "**pktfwd relay**"
	case strings.HasPrefix(label, "peer"):
		return "chirpstack-packet-multiplexer 3.1.0"
	}
	return label
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func opt(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

func cpu(r result) string {
	if r.Monitor.CPUAvg == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f (%s)", *r.Monitor.CPUAvg, opt(r.Monitor.CPUPeak, "%.1f"))
}

func rss(r result) string {
	m := r.Monitor
	if m.RSSStart == nil || m.RSSMax == nil || m.RSSEnd == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f / %.1f", *m.RSSStart/1024, *m.RSSMax/1024, *m.RSSEnd/1024)
}

// drops are the kernel's receive drops on the relay's and the sinks'
// ports during the run.
func drops(r result) string {
	var total int64
	for _, n := range r.Monitor.Drops {
		total += n
	}
	return fmt.Sprint(total)
}

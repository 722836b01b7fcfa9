//go:build !nometrics

package supervisor

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"pktfwd/relay"
)

// sample is one line of a metric family: its labels (name, value, …) and
// value.
type sample struct {
	labels []string
	value  float64
}

// writeFamily writes one metric family: its HELP and TYPE once, then each
// sample (the exposition format allows each only once per name).
func writeFamily(w io.Writer, name, typ, help string, samples ...sample) {
	if len(samples) == 0 {
		return
	}
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, helpEscaper.Replace(help), name, typ)
	for _, s := range samples {
		var b strings.Builder
		for i := 0; i+1 < len(s.labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%s="%s"`, s.labels[i], labelEscaper.Replace(s.labels[i+1]))
		}
		if b.Len() > 0 {
			fmt.Fprintf(w, "%s{%s} %g\n", name, b.String(), s.value)
		} else {
			fmt.Fprintf(w, "%s %g\n", name, s.value)
		}
	}
}

// upstreamStates are the values of pktfwd_upstream_state's state label.
var upstreamStates = []relay.State{relay.StateWaiting, relay.StateOK, relay.StateLost, relay.StateUnresolved}

// writeRelayMetrics writes the relay's figures: the forwarder's side, then
// each upstream, labelled upstream="HOST:PORT" as configured.
func writeRelayMetrics(w io.Writer, st Status) {
	if r := st.Relay; r != nil {
		writeFamily(w, "pktfwd_relay_push_data_total", "counter", "PUSH_DATA the relay received from the forwarder.", sample{value: float64(r.PushData)})
		writeFamily(w, "pktfwd_relay_pull_data_total", "counter", "PULL_DATA the relay received from the forwarder.", sample{value: float64(r.PullData)})
		writeFamily(w, "pktfwd_relay_tx_ack_total", "counter", "TX_ACK the relay received from the forwarder.", sample{value: float64(r.TxAck)})
		var dropped []sample
		for _, reason := range sortedKeys(r.Dropped) {
			dropped = append(dropped, sample{[]string{"reason", reason}, float64(r.Dropped[reason])})
		}
		writeFamily(w, "pktfwd_relay_dropped_datagrams_total", "counter", "Datagrams the relay refused, by reason.", dropped...)
		if r.LastPullDataAt != nil {
			writeFamily(w, "pktfwd_relay_last_pull_data_timestamp_seconds", "gauge", "When the forwarder's latest PULL_DATA arrived.", sample{value: float64(r.LastPullDataAt.UnixMilli()) / 1000})
		}
	}
	if len(st.Upstreams) == 0 {
		return
	}
	per := func(f func(RelayUpstream) float64) []sample {
		out := make([]sample, len(st.Upstreams))
		for i, u := range st.Upstreams {
			out[i] = sample{[]string{"upstream", u.Name}, f(u)}
		}
		return out
	}
	var states []sample
	for _, u := range st.Upstreams {
		for _, s := range upstreamStates {
			v := 0.0
			if string(s) == u.State {
				v = 1
			}
			states = append(states, sample{[]string{"upstream", u.Name, "state", string(s)}, v})
		}
	}
	writeFamily(w, "pktfwd_upstream_state", "gauge", "1 for the upstream's current state (waiting, ok, lost, unresolved).", states...)
	writeFamily(w, "pktfwd_upstream_push_data_sent_total", "counter", "PUSH_DATA relayed to the upstream.", per(func(u RelayUpstream) float64 { return float64(u.PushSent) })...)
	writeFamily(w, "pktfwd_upstream_push_data_acked_total", "counter", "PUSH_DATA the upstream acknowledged.", per(func(u RelayUpstream) float64 { return float64(u.PushAcked) })...)
	writeFamily(w, "pktfwd_upstream_rtt_seconds", "gauge", "Round-trip time of the upstream's latest PUSH_ACK.", per(func(u RelayUpstream) float64 { return u.RTTSeconds })...)
	writeFamily(w, "pktfwd_upstream_pull_data_sent_total", "counter", "The relay's own PULL_DATA sent to the upstream.", per(func(u RelayUpstream) float64 { return float64(u.PullSent) })...)
	writeFamily(w, "pktfwd_upstream_pull_data_acked_total", "counter", "PULL_ACK from the upstream.", per(func(u RelayUpstream) float64 { return float64(u.PullAcked) })...)
	writeFamily(w, "pktfwd_upstream_downlinks_total", "counter", "PULL_RESP from the upstream passed to the forwarder.", per(func(u RelayUpstream) float64 { return float64(u.Downlinks) })...)
	writeFamily(w, "pktfwd_upstream_tx_ack_total", "counter", "TX_ACK returned to the upstream.", per(func(u RelayUpstream) float64 { return float64(u.TxAck) })...)
	var refused []sample
	for _, u := range st.Upstreams {
		for _, reason := range sortedKeys(u.Refused) {
			refused = append(refused, sample{[]string{"upstream", u.Name, "reason", reason}, float64(u.Refused[reason])})
		}
	}
	writeFamily(w, "pktfwd_upstream_downlinks_refused_total", "counter", "PULL_RESP from the upstream not passed to the forwarder, by reason.", refused...)
	var txErrs []sample
	for _, u := range st.Upstreams {
		for _, kind := range sortedKeys(u.TxAckErrors) {
			txErrs = append(txErrs, sample{[]string{"upstream", u.Name, "error", kind}, float64(u.TxAckErrors[kind])})
		}
	}
	writeFamily(w, "pktfwd_upstream_tx_ack_errors_total", "counter", "TX_ACK reporting an error, by the forwarder's error name.", txErrs...)
}

func sortedKeys(m map[string]uint64) []string { return slices.Sorted(maps.Keys(m)) }

package supervisor

import (
	"testing"
	"time"

	"pktfwd/relay"
	"pktfwd/watchdog"
)

// The relay's primary upstream state as the watchdog's evidence: an
// unresolved name is waiting until it has lasted WATCHDOG_NO_ACK_SECONDS,
// then lost.
func TestRelayEvidence(t *testing.T) {
	t0 := time.Now()
	pull := t0.Add(-3 * time.Second)
	lostAfter := time.Minute
	for _, tc := range []struct {
		state relay.State
		since time.Duration // before now
		want  watchdog.UpstreamState
	}{
		{relay.StateWaiting, 0, watchdog.StateWaiting},
		{relay.StateOK, 0, watchdog.StateOK},
		{relay.StateLost, 0, watchdog.StateLost},
		{relay.StateUnresolved, 59 * time.Second, watchdog.StateWaiting},
		{relay.StateUnresolved, 61 * time.Second, watchdog.StateLost},
	} {
		snap := relay.Snapshot{
			Forwarder: relay.ForwarderStats{LastPullData: pull},
			Upstreams: []relay.UpstreamStats{{Name: "gw:1680", State: tc.state, StateSince: t0.Add(-tc.since)}, {Name: "ttn:1700", State: relay.StateLost}},
		}
		e := relayEvidence(snap, "why", lostAfter, t0)
		if e.Primary != tc.want || !e.LastPullData.Equal(pull) || !e.PrimarySince.Equal(t0.Add(-tc.since)) {
			t.Errorf("%s for %s: got %+v, want primary %s", tc.state, tc.since, e, tc.want)
		}
		if e.Primary == watchdog.StateLost && e.PrimaryReason == "" {
			t.Errorf("%s: lost without a reason", tc.state)
		}
	}
}

package relay

import (
	"maps"
	"time"
)

// Snapshot is what the relay has seen so far; Relay.Snapshot makes one.
type Snapshot struct {
	Forwarder ForwarderStats
	Upstreams []UpstreamStats // in the order of Config.Upstreams
	Tokens    TokenStats
}

// ForwarderStats describes the forwarder side.
type ForwarderStats struct {
	EUI          uint64    // the gateway EUI, configured or first seen; 0 while unknown
	PushData     uint64    // PUSH_DATA received (and acknowledged)
	PullData     uint64    // PULL_DATA received (and acknowledged)
	TxAck        uint64    // TX_ACK received
	LastPullData time.Time // the last PULL_DATA (monotonic reading); zero if never
	// Dropped counts the datagrams dropped by reason: too_short,
	// bad_version, bad_type, wrong_eui, unknown_tx_ack (docs/gwmp.md).
	Dropped map[string]uint64
}

// UpstreamStats describes one upstream.
type UpstreamStats struct {
	Name       string
	Address    string // as resolved, without port; "" if never resolved
	State      State
	StateSince time.Time // when State was entered (monotonic reading)
	LostSince  time.Time // when it became lost; zero unless State is lost

	PushSent      uint64        // PUSH_DATA relayed
	PushAcked     uint64        // PUSH_ACKs matched by token to a PUSH_DATA
	PushUnmatched uint64        // PUSH_ACKs with no PUSH_DATA awaiting them (late or unknown token)
	RTT           time.Duration // PUSH_DATA → PUSH_ACK, EWMA with α = 1/8; 0 before the first
	RTTLast       time.Duration // the last sample

	PullSent  uint64 // pktfwd's own PULL_DATA
	PullAcked uint64 // PULL_ACKs

	Downlinks uint64 // PULL_RESPs relayed to the forwarder
	// DownlinksDropped counts PULL_RESPs not relayed, by reason:
	// uplink_only, no_forwarder (no PULL_DATA from the forwarder yet).
	DownlinksDropped map[string]uint64
	TxAck            uint64            // TX_ACKs returned to this upstream
	TxAckErrors      map[string]uint64 // by the error they report (TX_FREQ, TOO_EARLY, …)
	Unexpected       uint64            // datagrams that are not the answers expected on that socket
}

// TokenStats describes the table of downlinks awaiting their TX_ACK.
type TokenStats struct {
	InFlight int    // awaiting a TX_ACK now
	Evicted  uint64 // pushed out by newer ones while the table was full
	Expired  uint64 // never acknowledged within the time allowed
}

// Snapshot returns the counters and states; safe for concurrent use.
func (r *Relay) Snapshot() Snapshot {
	now := r.now()
	s := Snapshot{
		Forwarder: ForwarderStats{
			EUI:      r.eui.Load(),
			PushData: r.pushData.Load(),
			PullData: r.pullData.Load(),
			TxAck:    r.txAck.Load(),
			Dropped:  map[string]uint64{},
		},
		Tokens: r.tokens.stats(now),
	}
	if t := r.lastPull.Load(); t != 0 {
		s.Forwarder.LastPullData = r.at(time.Duration(t))
	}
	for i := range r.dropped {
		if n := r.dropped[i].Load(); n != 0 {
			s.Forwarder.Dropped[dropNames[i]] = n
		}
	}
	for _, u := range r.ups {
		s.Upstreams = append(s.Upstreams, u.snapshot())
	}
	return s
}

// at converts a monotonic offset back to a time.Time that keeps the
// monotonic reading (so time.Since on it measures a true duration).
func (r *Relay) at(d time.Duration) time.Time {
	return r.start.Add(d)
}

func (u *upstream) snapshot() UpstreamStats {
	st := u.state.Load()
	s := UpstreamStats{
		Name:             u.cfg.Name,
		State:            st.state,
		StateSince:       u.r.at(st.since),
		PushSent:         u.pushSent.Load(),
		PushAcked:        u.pushAcked.Load(),
		PushUnmatched:    u.pushUnmatched.Load(),
		RTT:              time.Duration(u.rtt.Load()),
		RTTLast:          time.Duration(u.rttLast.Load()),
		PullSent:         u.pullSent.Load(),
		PullAcked:        u.pullAcked.Load(),
		Downlinks:        u.downlinks.Load(),
		DownlinksDropped: map[string]uint64{},
		TxAck:            u.txAcks.Load(),
		Unexpected:       u.unexpected.Load(),
	}
	if st.lostSince != 0 {
		s.LostSince = u.r.at(st.lostSince)
	}
	if a := u.addr.Load(); a != nil {
		s.Address = a.String()
	}
	if n := u.dropUplinkOnly.Load(); n != 0 {
		s.DownlinksDropped["uplink_only"] = n
	}
	if n := u.dropNoForwarder.Load(); n != 0 {
		s.DownlinksDropped["no_forwarder"] = n
	}
	u.errMu.Lock()
	s.TxAckErrors = maps.Clone(u.txAckErrors)
	u.errMu.Unlock()
	return s
}

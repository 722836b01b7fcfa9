package supervisor

import (
	"maps"
	"time"

	"pktfwd/relay"
)

// RelayStatus is the forwarder's side of the relay, seen first-hand
// (status.json "relay").
type RelayStatus struct {
	Listen         string            `json:"listen"` // where the forwarder sends, 127.0.0.1:PORT
	PushData       uint64            `json:"push_data"`
	PullData       uint64            `json:"pull_data"`
	TxAck          uint64            `json:"tx_ack"`
	Dropped        map[string]uint64 `json:"dropped,omitempty"` // datagrams refused, by reason
	LastPullDataAt *time.Time        `json:"last_pull_data_at,omitempty"`
}

// RelayUpstream is one network the relay sends to (status.json
// "upstreams"; docs/relay.md explains the states).
type RelayUpstream struct {
	Name        string            `json:"name"`              // as configured, HOST:PORT
	Address     string            `json:"address,omitempty"` // as resolved
	Primary     bool              `json:"primary,omitempty"`
	UplinkOnly  bool              `json:"uplink_only,omitempty"`
	State       string            `json:"state"` // waiting, ok, lost or unresolved
	StateSince  *time.Time        `json:"state_since,omitempty"`
	PushSent    uint64            `json:"push_data_sent"`
	PushAcked   uint64            `json:"push_data_acked"`
	RTTSeconds  float64           `json:"rtt_seconds"` // of the latest PUSH_ACK
	PullSent    uint64            `json:"pull_data_sent"`
	PullAcked   uint64            `json:"pull_data_acked"`
	Downlinks   uint64            `json:"downlinks"`
	Refused     map[string]uint64 `json:"downlinks_refused,omitempty"` // PULL_RESP not relayed, by reason: uplink_only, no_forwarder
	TxAck       uint64            `json:"tx_ack"`
	TxAckErrors map[string]uint64 `json:"tx_ack_errors,omitempty"` // by the forwarder's error name, e.g. TOO_LATE
}

func relayStatus(listen string, f relay.ForwarderStats) *RelayStatus {
	rs := &RelayStatus{Listen: listen, PushData: f.PushData, PullData: f.PullData, TxAck: f.TxAck, Dropped: maps.Clone(f.Dropped)}
	if !f.LastPullData.IsZero() {
		t := f.LastPullData.UTC()
		rs.LastPullDataAt = &t
	}
	return rs
}

func upstreamStatuses(stats []relay.UpstreamStats, cfg []UpstreamAddr) []RelayUpstream {
	out := make([]RelayUpstream, len(stats))
	for i, u := range stats {
		out[i] = RelayUpstream{
			Name: u.Name, Address: u.Address, Primary: i == 0, State: string(u.State),
			PushSent: u.PushSent, PushAcked: u.PushAcked, RTTSeconds: u.RTT.Seconds(),
			PullSent: u.PullSent, PullAcked: u.PullAcked, Downlinks: u.Downlinks, TxAck: u.TxAck,
			TxAckErrors: maps.Clone(u.TxAckErrors), Refused: maps.Clone(u.DownlinksDropped),
		}
		if i < len(cfg) {
			out[i].UplinkOnly = cfg[i].UplinkOnly
		}
		if !u.StateSince.IsZero() {
			t := u.StateSince.UTC()
			out[i].StateSince = &t
		}
	}
	return out
}

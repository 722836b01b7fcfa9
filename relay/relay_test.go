package relay_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"pktfwd/gwmp"
	"pktfwd/relay"
)

// An rxpk as the real forwarder wrote it (the GWMP reference captures).
const rxpkBody = `{"rxpk":[{"jver":1,"tmst":151062,"chan":8,"rfch":1,"freq":868.300000,"mid": 8,"stat":1,"modu":"LORA","datr":"SF7BW250","codr":"4/5","rssis":-71,"lsnr":5.8,"foff":24,"rssi":-68,"size":17,"data":"QAMQASYAAAABXtilwUFpG+Q="}]}`

// A downlink as ChirpStack's gateway bridge sent it (token e9 03, downlink 1001).
const txpkBody = `{"txpk":{"imme":true,"rfch":0,"powe":14,"ant":0,"brd":0,"freq":869.525,"modu":"LORA","datr":"SF9BW125","codr":"4/5","ipol":true,"size":17,"data":"YAEQASYAAAABAQIDBAUGBwg="}}`

func twoUpstreams(t *testing.T) (a, b *fakeServer, cfg relay.Config) {
	a, b = newFakeServer(t), newFakeServer(t)
	return a, b, relay.Config{
		GatewayEUI: testEUI,
		Upstreams:  []relay.Upstream{a.upstream(), b.upstream()},
		Keepalive:  time.Hour,
		LostAfter:  time.Hour,
		Reresolve:  time.Hour,
	}
}

// Every PUSH_DATA reaches both upstreams byte for byte, token included, and
// their PUSH_ACKs are matched to it (ack count and RTT per upstream).
func TestRelay_UplinksReachTwoUpstreams(t *testing.T) {
	a, b, cfg := twoUpstreams(t)
	r := startRelay(t, cfg)
	fwd := newFakeForwarder(t, r.Addr())
	awaitOpen(t, a, b)
	const n = 50
	sent := map[uint16][]byte{}
	for i := range n {
		token := uint16(0x6973 + i*257)
		sent[token] = fwd.pushData(token, rxpkBody)
	}
	for _, s := range []*fakeServer{a, b} {
		for range n {
			d := await(t, s.got, 5*time.Second, "PUSH_DATA at an upstream", isType(gwmp.PushData))
			if d.sock != "up" || !bytes.Equal(d.b, sent[d.p.Token]) {
				t.Fatalf("upstream got %x on %s, want one of the %d sent datagrams on up", d.b, d.sock, n)
			}
		}
	}
	eventually(t, 5*time.Second, "both upstreams' acks matched", func() bool {
		s := r.Snapshot()
		return s.Upstreams[0].PushAcked == n && s.Upstreams[1].PushAcked == n && s.Upstreams[1].PushSent == n
	})
	s := r.Snapshot()
	for i, u := range s.Upstreams {
		if u.PushSent != n || u.RTT <= 0 || u.RTT > time.Second || u.PushUnmatched != 0 || u.State != relay.StateOK {
			t.Errorf("upstream %d: %+v", i, u)
		}
		if want := fmt.Sprintf("127.0.0.1:%d", cfg.Upstreams[i].PortUp); u.Name != want || u.Address != "127.0.0.1" {
			t.Errorf("upstream %d: name %q address %q, want %q 127.0.0.1", i, u.Name, u.Address, want)
		}
	}
	if s.Forwarder.PushData != n || s.Forwarder.EUI != testEUI {
		t.Errorf("forwarder: %+v", s.Forwarder)
	}
}

// The forwarder gets its PUSH_ACK and PULL_ACK from the relay at once, on the
// socket it sent from, even when no upstream answers.
func TestRelay_AcksTheForwarderAtOnce(t *testing.T) {
	a, b, cfg := twoUpstreams(t)
	a.silent.Store(true)
	b.silent.Store(true)
	r := startRelay(t, cfg)
	fwd := newFakeForwarder(t, r.Addr())
	for i := range 20 {
		token := uint16(0xe346 + i)
		start := time.Now()
		fwd.pushData(token, rxpkBody)
		ack := await(t, fwd.got, time.Second, "PUSH_ACK", isType(gwmp.PushAck))
		// 50 ms is half the forwarder's push_timeout_ms: a later ack is lost to it.
		if ack.sock != "up" || ack.p.Token != token || len(ack.b) != 4 || time.Since(start) > 50*time.Millisecond {
			t.Fatalf("PUSH_ACK %x on %s after %v, want token %04x on up", ack.b, ack.sock, time.Since(start), token)
		}
	}
	fwd.pullData(0xc667) // c6 67 on the wire
	ack := await(t, fwd.got, time.Second, "PULL_ACK", isType(gwmp.PullAck))
	if ack.sock != "down" || !bytes.Equal(ack.b, []byte{2, 0x67, 0xc6, 4}) {
		t.Fatalf("PULL_ACK %x on %s, want 0267c604 (the capture's) on down", ack.b, ack.sock)
	}
	s := r.Snapshot()
	if s.Forwarder.PullData != 1 || s.Forwarder.LastPullData.IsZero() || s.Upstreams[0].PushAcked != 0 {
		t.Errorf("snapshot: %+v %+v", s.Forwarder, s.Upstreams[0])
	}
}

// A downlink from the second upstream reaches the forwarder with a token of
// the relay's, unique among those in flight; the TX_ACK goes back to that
// upstream alone, under its own token, and its error is counted.
func TestRelay_DownlinkRoundTrip(t *testing.T) {
	a, b, cfg := twoUpstreams(t)
	r := startRelay(t, cfg)
	fwd := newFakeForwarder(t, r.Addr())
	fwd.pullData(0x67c6)
	await(t, fwd.got, time.Second, "PULL_ACK", isType(gwmp.PullAck))
	await(t, a.got, 5*time.Second, "the relay's PULL_DATA at a", isType(gwmp.PullData))
	pd := await(t, b.got, 5*time.Second, "the relay's PULL_DATA at b", isType(gwmp.PullData))
	if pd.p.EUI != testEUI || len(pd.b) != gwmp.EUIHeaderLen {
		t.Fatalf("relay's PULL_DATA %x, want the gateway's EUI", pd.b)
	}

	// Both upstreams pick the same token, as two bridges may (downlink 1001).
	a.pullResp(0x03e9, txpkBody)
	first := await(t, fwd.got, 2*time.Second, "a's PULL_RESP at the forwarder", isType(gwmp.PullResp))
	b.pullResp(0x03e9, txpkBody)
	second := await(t, fwd.got, 2*time.Second, "b's PULL_RESP at the forwarder", isType(gwmp.PullResp))
	if first.sock != "down" || second.sock != "down" || string(first.p.Payload) != txpkBody || string(second.p.Payload) != txpkBody {
		t.Fatalf("PULL_RESPs %q on %s and %q on %s, want the bodies on down", first.p.Payload, first.sock, second.p.Payload, second.sock)
	}
	if first.p.Token == second.p.Token {
		t.Fatalf("two downlinks in flight share the token %04x", first.p.Token)
	}
	if got := r.Snapshot().Tokens.InFlight; got != 2 {
		t.Fatalf("%d downlinks in flight, want 2", got)
	}

	// TX_ACKs for both; a's without a body, b's with an error.
	fwd.send(fwd.down, gwmp.Packet{Version: 2, Token: first.p.Token, Type: gwmp.TxAck, EUI: testEUI})
	ackA := await(t, a.got, 2*time.Second, "TX_ACK at a", isType(gwmp.TxAck))
	fwd.send(fwd.down, gwmp.Packet{Version: 2, Token: second.p.Token, Type: gwmp.TxAck, EUI: testEUI, Payload: []byte(`{"txpk_ack":{"error":"TX_FREQ"}}`)})
	ackB := await(t, b.got, 2*time.Second, "TX_ACK at b", isType(gwmp.TxAck))
	if ackA.sock != "down" || ackA.p.Token != 0x03e9 || ackB.sock != "down" || ackB.p.Token != 0x03e9 {
		t.Fatalf("TX_ACKs %x on %s and %x on %s, want token e903 on down", ackA.b, ackA.sock, ackB.b, ackB.sock)
	}
	if string(ackB.p.Payload) != `{"txpk_ack":{"error":"TX_FREQ"}}` || ackB.p.EUI != testEUI {
		t.Fatalf("b's TX_ACK %x, want the forwarder's bytes", ackB.b)
	}
	// Neither upstream gets the other's TX_ACK.
	time.Sleep(100 * time.Millisecond) // a datagram that is not sent cannot be awaited
	for _, s := range []*fakeServer{a, b} {
		for len(s.got) > 0 {
			if d := <-s.got; d.p.Type == gwmp.TxAck {
				t.Fatalf("an upstream got a second TX_ACK %x", d.b)
			}
		}
	}
	s := r.Snapshot()
	ua, ub := s.Upstreams[0], s.Upstreams[1]
	if ua.Downlinks != 1 || ua.TxAck != 1 || len(ua.TxAckErrors) != 0 || ub.Downlinks != 1 || ub.TxAck != 1 || ub.TxAckErrors["TX_FREQ"] != 1 {
		t.Errorf("a %+v\nb %+v", ua, ub)
	}
	if s.Tokens.InFlight != 0 {
		t.Errorf("%d downlinks still in flight", s.Tokens.InFlight)
	}

	// A TX_ACK nobody is waiting for is dropped and counted.
	fwd.send(fwd.down, gwmp.Packet{Version: 2, Token: first.p.Token, Type: gwmp.TxAck, EUI: testEUI})
	eventually(t, 2*time.Second, "the stray TX_ACK counted", func() bool {
		return r.Snapshot().Forwarder.Dropped["unknown_tx_ack"] == 1
	})
}

// An uplink-only upstream gets the uplinks; its downlinks are dropped and
// counted.
func TestRelay_UplinkOnlyDropsDownlinks(t *testing.T) {
	a, b, cfg := twoUpstreams(t)
	cfg.Upstreams[1].UplinkOnly = true
	r := startRelay(t, cfg)
	fwd := newFakeForwarder(t, r.Addr())
	fwd.pullData(1)
	awaitOpen(t, a, b)
	b.pullResp(7, txpkBody)
	eventually(t, 2*time.Second, "b's downlink dropped", func() bool {
		return r.Snapshot().Upstreams[1].DownlinksDropped["uplink_only"] == 1
	})
	fwd.pushData(0x1234, rxpkBody)
	await(t, b.got, 2*time.Second, "PUSH_DATA at the uplink-only upstream", isType(gwmp.PushData))
	a.pullResp(8, txpkBody)
	d := await(t, fwd.got, 2*time.Second, "a's downlink", isType(gwmp.PullResp))
	if r.Snapshot().Upstreams[1].Downlinks != 0 || string(d.p.Payload) != txpkBody {
		t.Fatalf("downlink %x; snapshot %+v", d.b, r.Snapshot().Upstreams[1])
	}
	select {
	case d := <-fwd.got:
		if d.p.Type == gwmp.PullResp {
			t.Fatalf("a second downlink reached the forwarder: %x", d.b)
		}
	default:
	}
}

// An upstream that stops answering is lost, once, while the other stays ok;
// it is ok again when it answers. Nothing restarts.
func TestRelay_SilentUpstreamLost(t *testing.T) {
	_, b, cfg := twoUpstreams(t)
	cfg.Keepalive = 50 * time.Millisecond
	cfg.LostAfter = 400 * time.Millisecond
	ev := newStateEvents()
	cfg.OnState = ev.onState
	r := startRelay(t, cfg)
	// The names are derived from host and up port when not configured.
	nameA := fmt.Sprintf("127.0.0.1:%d", cfg.Upstreams[0].PortUp)
	nameB := fmt.Sprintf("127.0.0.1:%d", cfg.Upstreams[1].PortUp)
	ev.await(t, 2*time.Second, nameA+" waiting→ok")
	ev.await(t, 2*time.Second, nameB+" waiting→ok")

	b.silent.Store(true)
	ev.await(t, 3*time.Second, nameB+" ok→lost")
	s := r.Snapshot()
	if s.Upstreams[0].State != relay.StateOK || s.Upstreams[1].State != relay.StateLost || s.Upstreams[1].LostSince.IsZero() {
		t.Fatalf("states %s %s (lost since %v), want ok lost", s.Upstreams[0].State, s.Upstreams[1].State, s.Upstreams[1].LostSince)
	}
	// Still lost two LostAfter later: reported once, sockets reopened meanwhile.
	pulls := s.Upstreams[1].PullSent
	eventually(t, 3*time.Second, "keepalives go on to the lost upstream", func() bool {
		return r.Snapshot().Upstreams[1].PullSent > pulls+10
	})
	b.silent.Store(false)
	ev.await(t, 2*time.Second, nameB+" lost→ok")
	for _, e := range ev.rest() {
		if strings.HasPrefix(e, nameA) || strings.HasSuffix(e, "lost") {
			t.Errorf("unexpected state change %s", e)
		}
	}
	if s := r.Snapshot(); s.Upstreams[0].State != relay.StateOK || s.Upstreams[1].State != relay.StateOK || !s.Upstreams[1].LostSince.IsZero() {
		t.Errorf("after the answer: %+v", s.Upstreams)
	}
}

// Datagrams that are not the gateway's GWMP are dropped and counted and the
// relay carries on; the largest datagram passes intact.
func TestRelay_HostileDatagrams(t *testing.T) {
	a, b, cfg := twoUpstreams(t)
	r := startRelay(t, cfg)
	fwd := newFakeForwarder(t, r.Addr())
	awaitOpen(t, a, b)
	raw := func(b []byte) {
		if _, err := fwd.up.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	raw([]byte{})
	raw([]byte{2, 1})
	raw([]byte{2, 1, 2, 2, 0xaa}) // PULL_DATA cut short
	raw([]byte{3, 1, 2, 0, 0xaa, 0x55, 0x5a, 0, 0, 0, 0, 1, '{', '}'})
	raw([]byte(`{"rxpk":[]}`))
	raw([]byte{2, 1, 2, 9})
	raw([]byte{2, 1, 2, byte(gwmp.PullResp), '{', '}'}) // a server's type
	raw(gwmp.Packet{Version: 2, Token: 5, Type: gwmp.PushData, EUI: 0x0102030405060708, Payload: []byte(rxpkBody)}.Append(nil))
	big := gwmp.Packet{Version: 2, Token: 0xbeef, Type: gwmp.PushData, EUI: testEUI, Payload: bytes.Repeat([]byte("x"), gwmp.MaxDatagram-gwmp.EUIHeaderLen)}.Append(nil)
	raw(big)
	for _, s := range []*fakeServer{a, b} {
		d := await(t, s.got, 5*time.Second, "PUSH_DATA", isType(gwmp.PushData))
		if !bytes.Equal(d.b, big) {
			t.Fatalf("upstream got %d bytes (token %04x), want the %d-byte datagram intact", len(d.b), d.p.Token, len(big))
		}
	}
	ack := await(t, fwd.got, time.Second, "PUSH_ACK", isType(gwmp.PushAck))
	if ack.p.Token != 0xbeef {
		t.Fatalf("PUSH_ACK for %04x, want only beef's", ack.p.Token)
	}
	want := map[string]uint64{"too_short": 3, "bad_version": 2, "bad_type": 2, "wrong_eui": 1}
	eventually(t, 2*time.Second, fmt.Sprintf("drops counted as %v, one PUSH_DATA relayed", want), func() bool {
		s := r.Snapshot()
		return fmt.Sprint(s.Forwarder.Dropped) == fmt.Sprint(want) && s.Forwarder.PushData == 1 && s.Upstreams[0].PushSent == 1
	})
}

// With no EUI configured, the first one seen is the gateway's; pktfwd's own
// PULL_DATA carries it from then on.
func TestRelay_LearnsTheEUI(t *testing.T) {
	a, _, cfg := twoUpstreams(t)
	cfg.GatewayEUI = 0
	r := startRelay(t, cfg)
	fwd := newFakeForwarder(t, r.Addr())
	fwd.pushData(1, rxpkBody)
	pd := await(t, a.got, 5*time.Second, "the relay's PULL_DATA", isType(gwmp.PullData))
	if pd.p.EUI != testEUI {
		t.Fatalf("PULL_DATA EUI %016x, want %016x", pd.p.EUI, uint64(testEUI))
	}
	fwd.send(fwd.up, gwmp.Packet{Version: 2, Token: 2, Type: gwmp.PushData, EUI: testEUI + 1, Payload: []byte(rxpkBody)})
	eventually(t, 2*time.Second, "another EUI dropped", func() bool {
		return r.Snapshot().Forwarder.Dropped["wrong_eui"] == 1
	})
}

// Run closes what it opened: afterwards the forwarder-side port is free.
func TestRelay_RunClosesSockets(t *testing.T) {
	_, _, cfg := twoUpstreams(t)
	r, err := relay.Listen(relay.Config{Listen: "127.0.0.1:0", GatewayEUI: testEUI, Upstreams: cfg.Upstreams})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", r.Addr())
	if err != nil {
		t.Fatalf("the relay's port is still bound after Run: %v", err)
	}
	c.Close()
}

func TestListen_Rejects(t *testing.T) {
	up := relay.Upstream{Host: "127.0.0.1", PortUp: 1680, PortDown: 1680}
	tests := []struct {
		name string
		cfg  relay.Config
		want string
	}{
		{"no upstream", relay.Config{Listen: "127.0.0.1:0"}, "no upstream"},
		{"not loopback", relay.Config{Listen: "0.0.0.0:0", Upstreams: []relay.Upstream{up}}, "not a loopback"},
		{"no port", relay.Config{Listen: "127.0.0.1", Upstreams: []relay.Upstream{up}}, "listen address"},
		{"bad port", relay.Config{Listen: "127.0.0.1:0", Upstreams: []relay.Upstream{{Host: "x", PortUp: 0, PortDown: 70000}}}, "ports 0/70000"},
		{"negative", relay.Config{Listen: "127.0.0.1:0", Upstreams: []relay.Upstream{up}, Keepalive: -1}, "Keepalive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := relay.Listen(tt.cfg)
			if err == nil {
				r.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// An IPv6 literal in brackets, as it appears in HOST:PORT, works.
func TestRelay_IPv6Upstream(t *testing.T) {
	up, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatalf("no IPv6 loopback: %v", err)
	}
	down, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		up.Close()
		t.Fatal(err)
	}
	s := newFakeServerOn(t, up, down)
	r := startRelay(t, relay.Config{GatewayEUI: testEUI, Upstreams: []relay.Upstream{{Host: "[::1]", PortUp: port(up), PortDown: port(down)}}})
	awaitOpen(t, s)
	fwd := newFakeForwarder(t, r.Addr())
	sent := fwd.pushData(0x29cd, rxpkBody)
	if d := await(t, s.got, 2*time.Second, "PUSH_DATA over IPv6", isType(gwmp.PushData)); !bytes.Equal(d.b, sent) {
		t.Fatalf("got %x", d.b)
	}
	if u := r.Snapshot().Upstreams[0]; u.Name != fmt.Sprintf("[::1]:%d", port(up)) || u.Address != "::1" {
		t.Fatalf("name %q address %q", u.Name, u.Address)
	}
}

// An upstream with nobody listening (the kernel answers with ICMP port
// unreachable) is lost; the other carries on, every uplink reaching it.
func TestRelay_UpstreamNotListening(t *testing.T) {
	a := newFakeServer(t)
	closed := listenLoopback(t)
	deadPort := port(closed)
	closed.Close()
	ev := newStateEvents()
	r := startRelay(t, relay.Config{
		GatewayEUI: testEUI,
		Upstreams:  []relay.Upstream{{Name: "dead", Host: "127.0.0.1", PortUp: deadPort, PortDown: deadPort}, a.upstream()},
		Keepalive:  50 * time.Millisecond,
		LostAfter:  300 * time.Millisecond,
		OnState:    ev.onState,
	})
	awaitOpen(t, a)
	fwd := newFakeForwarder(t, r.Addr())
	ev.await(t, 3*time.Second, "dead waiting→lost")
	for i := range 20 {
		fwd.pushData(uint16(i), rxpkBody)
		await(t, a.got, 2*time.Second, "PUSH_DATA at the live upstream", isType(gwmp.PushData))
	}
	// A counter moves just after the datagram is out. (The dead one's
	// PushSent may miss a datagram written while its sockets were being
	// reopened.)
	eventually(t, time.Second, "20 PUSH_DATA counted", func() bool {
		s := r.Snapshot()
		return s.Upstreams[1].PushSent == 20 && s.Forwarder.PushData == 20
	})
	if s := r.Snapshot(); s.Upstreams[0].State != relay.StateLost || s.Upstreams[1].State != relay.StateOK {
		t.Fatalf("snapshot %+v", s.Upstreams)
	}
}

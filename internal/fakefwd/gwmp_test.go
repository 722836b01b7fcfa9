package fakefwd_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The gateway EUI the configs carry, as every real datagram's header
// showed it.
const eui = "aa555a0000000001"

func gw(port int, more ...any) map[string]any {
	g := map[string]any{"serv_port_up": port, "serv_port_down": port, "stat_interval": 1, "keepalive_interval": 1}
	for i := 0; i+1 < len(more); i += 2 {
		g[more[i].(string)] = more[i+1]
	}
	return g
}

// A healthy run: the real datagram layout, two sockets, tokens echoed,
// the real log lines, and a stat block whose figures say all was acked.
func TestGWMP_acknowledgedRun(t *testing.T) {
	s := startServer(t, acks)
	f := startFwd(t, conf(t, "sx1302", gw(s.port(), "keepalive_interval", 10)))
	f.waitLine("INFO: [up] PUSH_ACK received in ", 1)
	f.waitLine("INFO: [down] PULL_ACK received in ", 1)
	bs := f.waitBlocks(3)
	s.waitFor(t, "stat report", func(d datagram) bool { return d.id() == 0 && strings.Contains(string(d.b[12:]), `"stat":`) })
	f.signal(syscall.SIGTERM)
	if st, ok := f.wait(5 * time.Second); !ok || st.ExitCode() != 0 {
		t.Fatalf("after SIGTERM: %v (exited %v), want exit status 0", st, ok)
	}
	for i, b := range bs[:2] {
		if !has(b, "# PUSH_DATA acknowledged: 100.00%") {
			t.Errorf("block %d:\n%s", i, strings.Join(b, "\n"))
		}
	}
	if !has(bs[0], "# PULL_DATA sent: 1 (100.00% acknowledged)") {
		t.Errorf("first block:\n%s", strings.Join(bs[0], "\n"))
	}
	ports := map[byte]map[int]bool{0: {}, 2: {}}
	tokens := map[string]bool{}
	for _, d := range s.received() {
		if len(d.b) < 12 || d.b[0] != 2 || hex.EncodeToString(d.b[4:12]) != eui {
			t.Fatalf("datagram % x: want version 2 and gateway EUI %s in a 12-byte header", d.b, eui)
		}
		ports[d.id()][d.from.Port] = true
		tokens[hex.EncodeToString(d.b[1:3])] = true
		switch d.id() {
		case 2:
			if len(d.b) != 12 {
				t.Errorf("PULL_DATA of %d bytes, want the 12-byte header alone", len(d.b))
			}
		case 0:
			checkPushData(t, d.b[12:])
		default:
			t.Errorf("unexpected datagram type %d", d.id())
		}
	}
	if len(ports[0]) != 1 || len(ports[2]) != 1 || fmt.Sprint(ports[0]) == fmt.Sprint(ports[2]) {
		t.Errorf("source ports: PUSH_DATA %v, PULL_DATA %v; want one socket for each", ports[0], ports[2])
	}
	if len(tokens) < len(s.received())/2 {
		t.Errorf("%d tokens in %d datagrams: want random tokens", len(tokens), len(s.received()))
	}
	out := f.text()
	for _, want := range []string{"INFO: [main] concentrator started, packet can now be received\n", "\nJSON up: {\"rxpk\":[{\"jver\":1,",
		"INFO: End of upstream thread\n", "INFO: End of downstream thread\n", "INFO: concentrator stopped successfully\n",
		"INFO: Exiting packet forwarder program\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// checkPushData checks a PUSH_DATA payload against the shapes the real
// forwarder sent: valid JSON, rxpk sizes matching their data, a stat
// report with the SX1302 fields.
func checkPushData(t *testing.T, js []byte) {
	t.Helper()
	var p struct {
		Rxpk []struct {
			Tmst *uint32 `json:"tmst"`
			Size int     `json:"size"`
			Data string  `json:"data"`
			Freq float64 `json:"freq"`
			Modu string  `json:"modu"`
		} `json:"rxpk"`
		Stat map[string]any `json:"stat"`
	}
	if err := json.Unmarshal(js, &p); err != nil {
		t.Fatalf("PUSH_DATA JSON %s: %v", js, err)
	}
	if p.Rxpk == nil && p.Stat == nil {
		t.Errorf("PUSH_DATA %s has neither rxpk nor stat", js)
	}
	for _, r := range p.Rxpk {
		b, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil || len(b) != r.Size || r.Tmst == nil || r.Modu != "LORA" || r.Freq < 863 || r.Freq > 870 {
			t.Errorf("rxpk %+v: want a LoRa packet in the EU868 band whose size is its data's", r)
		}
	}
	if p.Stat != nil {
		for _, k := range []string{"time", "lati", "long", "alti", "rxnb", "rxok", "rxfw", "ackr", "dwnb", "txnb", "temp"} {
			if _, ok := p.Stat[k]; !ok {
				t.Errorf("stat %s lacks %q", js, k)
			}
		}
	}
}

// An ack later than push_timeout_ms counts for nothing: a server 150 ms
// away leaves PUSH_DATA 0.00% acknowledged, while its PULL_ACKs, which
// the downstream thread waits for a whole keepalive, all count.
func TestGWMP_lateAckIsNotCounted(t *testing.T) {
	s := startServer(t, func(d datagram) ([]byte, time.Duration) {
		reply, _ := acks(d)
		if d.id() == 0 {
			return reply, 150 * time.Millisecond
		}
		return reply, 0
	})
	f := startFwd(t, conf(t, "sx1302", gw(s.port(), "push_timeout_ms", 100)))
	bs := f.waitBlocks(3)
	for i, b := range bs {
		if !has(b, "# PUSH_DATA acknowledged: 0.00%") || has(b, "# PUSH_DATA datagrams sent: 0 (0 bytes)") {
			t.Errorf("block %d, want PUSH_DATA sent and none acknowledged:\n%s", i, strings.Join(b, "\n"))
		}
		if pull := field(b, "# PULL_DATA sent: "); pull > 0 && !has(b, fmt.Sprintf("# PULL_DATA sent: %d (100.00%% acknowledged)", pull)) {
			t.Errorf("block %d, want the keepalives acknowledged:\n%s", i, strings.Join(b, "\n"))
		}
	}
	if n := sum(bs, "# PULL_DATA sent: "); n < 2 {
		t.Errorf("%d keepalives in 3 blocks a second apart at keepalive_interval 1", n)
	}
	if strings.Contains(f.text(), "PUSH_ACK received") {
		t.Errorf("a late PUSH_ACK was logged as received:\n%s", f.text())
	}
}

// No server at all: nothing is acknowledged, and the forwarder runs on
// (the first block counts the one keepalive, the others none).
func TestGWMP_noServer(t *testing.T) {
	s := startServer(t, nil)
	port := s.port()
	s.conn.Close() // nothing listens: each send draws a "port unreachable"
	f := startFwd(t, conf(t, "sx1302", gw(port, "keepalive_interval", 10)))
	bs := f.waitBlocks(3)
	if !has(bs[0], "# PULL_DATA sent: 1 (0.00% acknowledged)") || !has(bs[1], "# PULL_DATA sent: 0 (0.00% acknowledged)") {
		t.Errorf("blocks:\n%s\n%s", strings.Join(bs[0], "\n"), strings.Join(bs[1], "\n"))
	}
	for i, b := range bs {
		if !has(b, "# PUSH_DATA acknowledged: 0.00%") {
			t.Errorf("block %d:\n%s", i, strings.Join(b, "\n"))
		}
	}
	if _, exited := f.wait(0); exited {
		t.Error("the forwarder exited")
	}
}

// A server name that does not resolve ends the forwarder at once, with
// the real message, before the concentrator starts.
func TestGWMP_unresolvableServer(t *testing.T) {
	f := startFwd(t, conf(t, "sx1302", map[string]any{"server_address": "multiplexer.invalid", "serv_port_up": 1681}))
	st, ok := f.wait(10 * time.Second)
	if !ok || st.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1", st)
	}
	out := f.text()
	if !regexp.MustCompile(`(?m)^ERROR: \[up\] getaddrinfo on address multiplexer\.invalid \(PORT 1681\) returned (Name or service not known|Temporary failure in name resolution)$`).MatchString(out) ||
		strings.Contains(out, "concentrator started") {
		t.Errorf("output:\n%s", out)
	}
}

// pullResp builds a PULL_RESP with token tok and the txpk fields.
func pullResp(tok uint16, txpk map[string]any) []byte {
	js, _ := json.Marshal(map[string]any{"txpk": txpk})
	return append([]byte{2, byte(tok >> 8), byte(tok), 3}, js...)
}

// txpk is an EU868 downlink as the ChirpStack bridge sent them.
func txpk(timing map[string]any, freq float64) map[string]any {
	m := map[string]any{"rfch": 0, "powe": 14, "ant": 0, "brd": 0, "freq": freq, "modu": "LORA", "datr": "SF9BW125",
		"codr": "4/5", "ipol": true, "size": 4, "data": "AQIDBA=="}
	for k, v := range timing {
		m[k] = v
	}
	return m
}

// PULL_RESP, even with no PULL_ACK ever sent, is answered by a TX_ACK
// with its token: empty on success, the JIT error otherwise, as in the
// captures (a passed tmst is TOO_EARLY, the same slot twice a collision).
func TestGWMP_txAck(t *testing.T) {
	s := startServer(t, func(d datagram) ([]byte, time.Duration) {
		if d.id() == 0 {
			return acks(d)
		}
		return nil, 0 // no PULL_ACK
	})
	f := startFwd(t, conf(t, "sx1302", gw(s.port(), "keepalive_interval", 10)))
	pull := s.waitFor(t, "PULL_DATA", func(d datagram) bool { return d.id() == 2 })
	up := s.waitFor(t, "an uplink", func(d datagram) bool { return d.id() == 0 && strings.Contains(string(d.b), `"rxpk"`) })
	var rx struct {
		Rxpk []struct {
			Tmst uint32 `json:"tmst"`
		} `json:"rxpk"`
	}
	must(t, json.Unmarshal(up.b[12:], &rx))
	// The concentrator's time now, from the uplink's: at most a little behind.
	now := func() uint32 { return rx.Rxpk[0].Tmst + uint32(time.Since(up.at).Microseconds()) }
	ahead := now() + 3_000_000
	for i, tc := range []struct {
		name string
		b    func(tok uint16) []byte
		want string // TX_ACK payload
	}{
		{"immediate", func(tok uint16) []byte { return pullResp(tok, txpk(map[string]any{"imme": true}, 869.525)) }, ""},
		{"tmst 3 s ahead", func(tok uint16) []byte {
			return pullResp(tok, txpk(map[string]any{"imme": false, "tmst": ahead}, 868.1))
		}, ""},
		{"same slot", func(tok uint16) []byte {
			return pullResp(tok, txpk(map[string]any{"imme": false, "tmst": ahead}, 868.1))
		}, `{"txpk_ack":{"error":"COLLISION_PACKET"}}`},
		{"tmst passed", func(tok uint16) []byte {
			return pullResp(tok, txpk(map[string]any{"imme": false, "tmst": now() - 1_000_000}, 868.1))
		}, `{"txpk_ack":{"error":"TOO_EARLY"}}`},
		{"tmst too close", func(tok uint16) []byte {
			return pullResp(tok, txpk(map[string]any{"imme": false, "tmst": now() + 25_000}, 868.1))
		}, `{"txpk_ack":{"error":"TOO_LATE"}}`},
		{"880 MHz", func(tok uint16) []byte { return pullResp(tok, txpk(map[string]any{"imme": true}, 880)) }, `{"txpk_ack":{"error":"TX_FREQ"}}`},
		{"GPS time", func(tok uint16) []byte {
			return pullResp(tok, txpk(map[string]any{"imme": false, "tmms": int64(1400000000000)}, 868.1))
		}, `{"txpk_ack":{"error":"GPS_UNLOCKED"}}`},
	} {
		tok := uint16(0x03e9 + i)
		s.send(t, pull, tc.b(tok))
		ack := s.waitFor(t, "TX_ACK for "+tc.name, func(d datagram) bool { return d.id() == 5 && binary.BigEndian.Uint16(d.b[1:3]) == tok })
		if hex.EncodeToString(ack.b[4:12]) != eui || string(ack.b[12:]) != tc.want {
			t.Errorf("%s: TX_ACK % x %q, want EUI %s and %q", tc.name, ack.b[:12], ack.b[12:], eui, tc.want)
		}
		if ack.from.Port != pull.from.Port {
			t.Errorf("%s: TX_ACK from port %d, want the downstream socket's %d", tc.name, ack.from.Port, pull.from.Port)
		}
	}
	f.waitLine(`INFO: [down] a packet will be sent in "immediate" mode`, 1)
	f.waitLine("INFO: [down] PULL_RESP received  - token[3:233] :)", 1)
	// Accepted: the immediate one at once, the other 3 s later; every
	// parsed PULL_RESP counts (the GPS one is refused before that).
	deadline := time.Now().Add(10 * time.Second)
	for n := 1; sum(f.blocks(), "# RF packets sent to concentrator: ") < 2 && time.Now().Before(deadline); n++ {
		f.waitBlocks(n)
	}
	bs := f.blocks()
	if sent, resp := sum(bs, "# RF packets sent to concentrator: "), sum(bs, "# PULL_RESP(onse) datagrams received: "); sent != 2 || resp != 6 {
		t.Errorf("%d downlinks sent, %d PULL_RESP counted; want 2 and 6", sent, resp)
	}
	if last := bs[len(bs)-1]; !has(last, "# TX rejected (too early): 20.00% (req:5, rej:1)") {
		t.Errorf("last block, want the rejections since the start:\n%s", strings.Join(last, "\n"))
	}
}

// field is the first number after prefix in block b (0 without it).
func field(b []string, prefix string) int {
	for _, l := range b {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	return 0
}

func sum(bs [][]string, prefix string) int {
	n := 0
	for _, b := range bs {
		n += field(b, prefix)
	}
	return n
}

// A slow concentrator start: the reset script runs and the SPI line is
// printed first; the started line comes after the delay, no datagram
// leaves before it (the threads start after lgw_start), and the first
// stat block one interval after it.
func TestSlowStart(t *testing.T) {
	s := startServer(t, acks)
	f := startFwd(t, conf(t, "sx1302", gw(s.port())), "FAKEFWD_START_DELAY=1.5s")
	opening := f.waitLine("Opening SPI communication interface", 1)
	if b, err := os.ReadFile(filepath.Join(f.dir, "reset.log")); err != nil || string(b) != "start\n" {
		t.Errorf("reset_lgw.sh calls when the SPI line came: %q %v, want start", b, err)
	}
	started := f.waitLine("INFO: [main] concentrator started, packet can now be received", 1)
	if d := started.at.Sub(opening.at); d < 1400*time.Millisecond {
		t.Errorf("started %s after the SPI line, want the 1.5 s delay", d)
	}
	first := s.waitFor(t, "a datagram", func(datagram) bool { return true })
	if first.at.Before(started.at.Add(-50 * time.Millisecond)) {
		t.Errorf("a datagram (type %d) arrived %s before the started line", first.id(), started.at.Sub(first.at))
	}
	f.waitBlocks(1)
	header := f.waitLine("##### ", 1)
	if d := header.at.Sub(started.at); d < 900*time.Millisecond {
		t.Errorf("first stat block %s after the start, want one stat_interval (1 s)", d)
	}
	out := f.text()
	if strings.Index(out, "Opening SPI") > strings.Index(out, "concentrator started") {
		t.Errorf("output:\n%s", out)
	}
}

package supervisor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"pktfwd/internal/testtool"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// The GWMP bytes below are written from the protocol (SPEC, "GWMP"), not
// from the codec: byte 0 the version, 1–2 a token, 3 the type, then the
// gateway EUI for the types the forwarder sends.
const (
	pushData = 0
	pushAck  = 1
	pullData = 2
	pullResp = 3
	pullAck  = 4
	txAck    = 5
)

// testUpstream is a GWMP server on one UDP port (up and down): it
// acknowledges PUSH_DATA and PULL_DATA unless silenced, and keeps every
// PUSH_DATA it receives.
type testUpstream struct {
	t      *testing.T
	conn   *net.UDPConn
	silent atomic.Bool

	mu       sync.Mutex
	pushes   [][]byte
	pulls    int
	pullFrom *net.UDPAddr // where the latest PULL_DATA came from: downlinks go there
	txAcks   []uint16     // the tokens of the TX_ACKs received
}

func newTestUpstream(t *testing.T) *testUpstream {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u := &testUpstream{t: t, conn: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return // closed by the cleanup
			}
			u.handle(append([]byte(nil), buf[:n]...), from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return u
}

func (u *testUpstream) handle(b []byte, from *net.UDPAddr) {
	if len(b) < 12 {
		return
	}
	ack := byte(0)
	u.mu.Lock()
	switch b[3] {
	case pushData:
		u.pushes = append(u.pushes, b)
		ack = pushAck
	case pullData:
		u.pulls++
		u.pullFrom = from
		ack = pullAck
	case txAck:
		u.txAcks = append(u.txAcks, uint16(b[1])|uint16(b[2])<<8)
	}
	u.mu.Unlock()
	if ack != 0 && !u.silent.Load() {
		u.conn.WriteToUDP([]byte{b[0], b[1], b[2], ack}, from)
	}
}

func (u *testUpstream) port() int { return u.conn.LocalAddr().(*net.UDPAddr).Port }

// downlink sends a PULL_RESP with token to the relay, an immediate
// transmission as ChirpStack's bridge sent it to the real forwarder.
func (u *testUpstream) downlink(token uint16) {
	u.t.Helper()
	u.mu.Lock()
	to := u.pullFrom
	u.mu.Unlock()
	if to == nil {
		u.t.Fatal("no PULL_DATA yet: no address to send a downlink to")
	}
	b := append([]byte{2, byte(token), byte(token >> 8), pullResp},
		`{"txpk":{"imme":true,"rfch":0,"powe":14,"ant":0,"brd":0,"freq":869.525,"modu":"LORA","datr":"SF9BW125","codr":"4/5","ipol":true,"size":4,"data":"AQIDBA=="}}`...)
	if _, err := u.conn.WriteToUDP(b, to); err != nil {
		u.t.Fatal(err)
	}
}

// acked is the tokens of the TX_ACKs received.
func (u *testUpstream) acked() []uint16 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]uint16(nil), u.txAcks...)
}

// firstUplink is the first PUSH_DATA received that holds an rxpk.
func (u *testUpstream) firstUplink() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, b := range u.pushes {
		if bytes.Contains(b, []byte(`"rxpk"`)) {
			return b
		}
	}
	return nil
}

// received tells whether a PUSH_DATA with exactly these bytes arrived.
func (u *testUpstream) received(want []byte) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, b := range u.pushes {
		if bytes.Equal(b, want) {
			return true
		}
	}
	return false
}

// reports records what the supervisor reports.
type reports struct {
	mu   sync.Mutex
	errs []string
}

func (r *reports) Report(err error, tags map[string]string, _ []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf("%v [upstream=%s]", err, tags["upstream"]))
}

func (r *reports) about(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.errs {
		if strings.Contains(e, s) {
			n++
		}
	}
	return n
}

// gatewayConf is the gateway_conf of the rendered global_conf.json.
func (h *harness) gatewayConf() (addr string, up, down int) {
	h.t.Helper()
	var c struct {
		G struct {
			Addr string `json:"server_address"`
			Up   int    `json:"serv_port_up"`
			Down int    `json:"serv_port_down"`
		} `json:"gateway_conf"`
	}
	if err := json.Unmarshal([]byte(h.globalConf()), &c); err != nil {
		h.t.Fatalf("global_conf.json: %v", err)
	}
	return c.G.Addr, c.G.Up, c.G.Down
}

func upstreamIn(e event, name string) supervisor.RelayUpstream {
	for _, u := range e.Upstreams {
		if u.Name == name {
			return u
		}
	}
	return supervisor.RelayUpstream{}
}

// With the relay on, the simulated forwarder is pointed at pktfwd on
// loopback, and its uplinks reach both upstreams unchanged; a downlink from
// the second is transmitted and its TX_ACK returns to the second alone;
// status.json shows both ok; one that goes silent is lost while the other
// stays ok, it is reported once, the forwarder is not restarted, and it is
// ok again once it answers.
func TestRelay_TwoUpstreams(t *testing.T) {
	primary, second := newTestUpstream(t), newTestUpstream(t)
	h := newHarness(t)
	reps := &reports{}
	h.opt.Reporter = reps
	h.cfg.Relay = true
	h.cfg.ServerPortUp, h.cfg.ServerPortDown = primary.port(), primary.port()
	h.cfg.Upstreams = fmt.Sprintf("127.0.0.1:%d", second.port())
	h.cfg.WatchdogNoAckSeconds = 2                 // an upstream answering nothing this long is lost
	h.cfg.LoraPktFwdAfterSuccessSleepSeconds = 0.2 // status.json refreshed with the relay's counters
	h.cfg.GlobalConfOverlay = `{"gateway_conf":{"keepalive_interval":1,"stat_interval":1}}`
	h.opt.Env = []string{"FAKEFWD_RX_PER_SEC=20"} // uplinks keep every answering upstream ok
	if metricsBuilt {
		h.cfg.MetricsAddr = "127.0.0.1:0"
	}
	pName, sName := fmt.Sprintf("127.0.0.1:%d", primary.port()), h.cfg.Upstreams
	h.writeRegion("EU868")
	h.start()
	running, next := h.wait("running", 0, h.running("EU868_A"))

	if running.Relay == nil {
		t.Fatalf("status has no relay: %+v", running.Status)
	}
	addr, up, down := h.gatewayConf()
	if got := fmt.Sprintf("%s:%d", addr, up); got != running.Relay.Listen || down != up || addr != "127.0.0.1" {
		t.Fatalf("global_conf.json sends to %s:%d/%d, want the relay at %s", addr, up, down, running.Relay.Listen)
	}

	_, next = h.wait("both upstreams ok with uplinks acknowledged", next, func(e event) bool {
		p, s := upstreamIn(e, pName), upstreamIn(e, sName)
		return p.State == "ok" && s.State == "ok" && p.PushAcked > 0 && s.PushAcked > 0
	})
	first := primary.firstUplink()
	if first == nil {
		t.Fatal("the primary acknowledged PUSH_DATA but holds no uplink")
	}
	if !second.received(first) {
		t.Errorf("the second upstream did not receive the primary's first uplink unchanged:\n%q", first)
	}
	if e := h.last(); e.Relay.PushData == 0 || e.Relay.PullData == 0 {
		t.Errorf("the relay saw no PUSH_DATA or PULL_DATA from the forwarder: %+v", e.Relay)
	}
	if metricsBuilt {
		checkRelayMetrics(t, get(t, "http://"+metricsAddr(t, h)+"/metrics", 200), sName)
	}

	// A downlink from the second upstream is transmitted (the stat block
	// counts it) and its TX_ACK returns to the second alone, with its token.
	second.downlink(0xBEEF)
	_, next = h.wait("the downlink transmitted and acknowledged", next, func(e event) bool {
		s := upstreamIn(e, sName)
		return s.Downlinks == 1 && s.TxAck == 1 && e.Radio != nil && e.Radio.Total.Downlinks >= 1
	})
	if got := second.acked(); len(got) != 1 || got[0] != 0xBEEF {
		t.Errorf("the second upstream got TX_ACK tokens %x, want [beef]", got)
	}
	if got := primary.acked(); len(got) != 0 {
		t.Errorf("the primary got TX_ACKs %x for the second's downlink", got)
	}

	second.silent.Store(true)
	lost, next := h.wait("the second upstream lost", next, func(e event) bool { return upstreamIn(e, sName).State == "lost" })
	if p := upstreamIn(lost, pName); p.State != "ok" || !p.Primary {
		t.Errorf("the primary is %+v while the second is lost, want ok and primary", p)
	}
	if lost.Restarts != 0 || lost.PID != running.PID {
		t.Errorf("the forwarder was restarted for a lost upstream: pid %d → %d, restarts %d", running.PID, lost.PID, lost.Restarts)
	}
	h.waitLog(logrus.WarnLevel, "upstream "+sName+" is lost", 1)

	second.silent.Store(false)
	h.wait("the second upstream ok again", next, func(e event) bool { return upstreamIn(e, sName).State == "ok" })
	if n := reps.about(sName); n != 1 {
		t.Errorf("the lost upstream was reported %d times, want once: %v", n, reps.errs)
	}
	if n := reps.about(pName); n != 0 {
		t.Errorf("the primary, always ok, was reported: %v", reps.errs)
	}
	if last := h.last(); last.PID != running.PID {
		t.Errorf("the forwarder changed: pid %d → %d", running.PID, last.PID)
	}

	// The primary lost: the watchdog sees it through the relay, and
	// `pktfwd health --upstreams` fails while plain health does not.
	primary.silent.Store(true)
	e, _ := h.wait("the primary lost, as the watchdog sees it", next, func(e event) bool {
		return e.Radio != nil && e.Radio.Upstream.State == "lost" && upstreamIn(e, pName).State == "lost"
	})
	if err := supervisor.HealthUpstreams(e.Status, time.Now(), time.Minute); err == nil || !strings.Contains(err.Error(), "lost") {
		t.Errorf("HealthUpstreams with the primary lost = %v, want an error", err)
	}
	if err := supervisor.Health(e.Status, time.Now(), time.Minute); err != nil {
		t.Errorf("Health with the primary lost = %v, want nil (a restart cannot mend a network)", err)
	}
	if e.Restarts != 0 || e.PID != running.PID {
		t.Errorf("the forwarder was restarted for a lost primary: pid %d → %d, restarts %d", running.PID, e.PID, e.Restarts)
	}
}

// RELAY=false renders the server address as before, and status.json has
// no relay.
func TestRelay_OffSendsDirectly(t *testing.T) {
	h := newHarness(t)
	h.cfg.Relay = false
	h.cfg.ServerAddress, h.cfg.ServerPortUp, h.cfg.ServerPortDown = "localhost", 1700, 1701
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("running", 0, h.running("EU868_A"))
	// pktfwd writes the address of the name (serverip.go): localhost's is 127.0.0.1
	if addr, up, down := h.gatewayConf(); addr != "127.0.0.1" || up != 1700 || down != 1701 {
		t.Errorf("global_conf.json sends to %s:%d/%d, want 127.0.0.1:1700/1701 (localhost's address)", addr, up, down)
	}
	if e.Relay != nil || e.Upstreams != nil {
		t.Errorf("status.json has a relay without RELAY: %+v %+v", e.Relay, e.Upstreams)
	}
	b, err := os.ReadFile(filepath.Join(h.dir, "var", "status.json"))
	if err != nil || strings.Contains(string(b), `"upstreams"`) {
		t.Errorf("status.json (err %v) mentions upstreams:\n%s", err, b)
	}
}

// checkRelayMetrics looks for the upstream's figures in a /metrics body and
// has promtool lint the whole of it.
func checkRelayMetrics(t *testing.T, body, upstream string) {
	t.Helper()
	for _, want := range []string{
		fmt.Sprintf(`pktfwd_upstream_state{upstream=%q,state="ok"} 1`, upstream),
		fmt.Sprintf(`pktfwd_upstream_state{upstream=%q,state="lost"} 0`, upstream),
		"# TYPE pktfwd_upstream_push_data_acked_total counter\n",
		fmt.Sprintf(`pktfwd_upstream_push_data_sent_total{upstream=%q} `, upstream),
		"# TYPE pktfwd_upstream_rtt_seconds gauge\n", "# TYPE pktfwd_relay_push_data_total counter\npktfwd_relay_push_data_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	promtool := testtool.Require(t, "promtool", "apt-get install prometheus; .ci/run does")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n/metrics:\n%s", err, out, body)
	}
}

package supervisor_test

import (
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

// The tests in this file run the real Semtech forwarders (sx1302_hal 2.1.0
// and packet_forwarder 4.0.1) built on a simulated concentrator, which
// print their real statistics blocks, send real UDP, and stall, freeze
// their counter or lose it on demand (SIMHAL_* variables).

// simhalBuild returns the path of a *-simhal forwarder build, or skips.
func simhalBuild(t *testing.T, name string) string {
	dir := os.Getenv("PKTFWD_FORWARDERS_DIR")
	if dir == "" {
		t.Skip("PKTFWD_FORWARDERS_DIR is unset: skipping the tests against the real forwarder builds (set it to the directory holding " + name + ")")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("PKTFWD_FORWARDERS_DIR=%s has no %s: skipping the tests against the real forwarder builds", dir, name)
	}
	return p
}

// ackServer is a Semtech UDP (GWMP v2) server on a real socket: it answers
// PUSH_DATA with PUSH_ACK and PULL_DATA with PULL_ACK (same token) when
// ack is set, and counts what it got.
type ackServer struct {
	conn *net.UDPConn
	ack  bool
	done chan struct{}

	mu         sync.Mutex
	push, pull int
	euis       map[string]bool
}

func startAckServer(t testing.TB, ack bool) *ackServer {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &ackServer{conn: conn, ack: ack, done: make(chan struct{}), euis: map[string]bool{}}
	go s.serve()
	t.Cleanup(func() { conn.Close(); <-s.done })
	return s
}

func (s *ackServer) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *ackServer) serve() {
	defer close(s.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		d := buf[:n]
		if n < 12 || d[0] != 2 || (d[3] != 0 && d[3] != 2) {
			continue // TX_ACK or garbage
		}
		s.mu.Lock()
		s.euis[hex.EncodeToString(d[4:12])] = true
		reply := byte(1) // PUSH_ACK
		if d[3] == 0 {
			s.push++
		} else {
			s.pull++
			reply = 4 // PULL_ACK
		}
		s.mu.Unlock()
		if s.ack {
			s.conn.WriteToUDP([]byte{2, d[1], d[2], reply}, from)
		}
	}
}

func (s *ackServer) counts() (push, pull int, euis []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := range s.euis {
		euis = append(euis, e)
	}
	return s.push, s.pull, euis
}

// simhalHarness runs the supervisor on a simulated chip of the family with
// the real forwarder build of that family, stat_interval 1, sending to an
// in-process ack server; env sets SIMHAL_* for the forwarder.
func simhalHarness(t *testing.T, sx1301, ack bool, env ...string) (*harness, *ackServer) {
	build := simhalBuild(t, "sx1302-lora-net-2.1.0-simhal")
	if sx1301 {
		build = simhalBuild(t, "sx1301-lora-net-4.0.1-simhal")
	}
	t.Parallel()
	srv := startAckServer(t, ack)
	h := newHarness(t)
	h.cfg.RegionOverride = "EU868"
	h.cfg.GlobalConfOverlay = `{"gateway_conf":{"stat_interval":1}}`
	h.cfg.Watchdog = true
	h.cfg.ServerPortUp, h.cfg.ServerPortDown = srv.port(), srv.port()
	h.opt.Env = env
	h.opt.StopGrace = time.Second
	fwd := h.cfg.SX1302Forwarder
	if sx1301 {
		fwd = filepath.Join(h.cfg.SX1301Dir, "lora_pkt_fwd")
		h.opt.OpenSPI = simSPI(concentrator.NewSimSX1301())
		os.MkdirAll(h.cfg.SX1301Dir, 0o755)
	}
	os.Remove(fwd)
	if err := os.Symlink(build, fwd); err != nil {
		t.Fatal(err)
	}
	return h, srv
}

func family(sx1301 bool) string {
	if sx1301 {
		return "sx1301"
	}
	return "sx1302"
}

func TestSimhal_healthy(t *testing.T) {
	for _, sx1301 := range []bool{false, true} {
		t.Run(family(sx1301), func(t *testing.T) {
			h, srv := simhalHarness(t, sx1301, true)
			h.start()
			e, _ := h.wait("4 blocks", 0, blocks(4))
			r := e.Radio
			if r.Family != family(sx1301) || r.Watchdog.Verdict != "ok" || e.Restarts != 0 || r.StatIntervalSecs != 1 {
				t.Errorf("radio %+v, want a healthy %s at stat interval 1", r, family(sx1301))
			}
			if r.Total.Received == 0 || r.Total.PushAcked == 0 || r.Total.PullSent == 0 {
				t.Errorf("totals %+v, want packets received and acknowledged", r.Total)
			}
			if !sx1301 && (r.SX1302Counter == nil || r.TemperatureC == nil || *r.TemperatureC != 41) {
				t.Errorf("SX1302 counter %v, temperature %v; want both (41 C)", r.SX1302Counter, r.TemperatureC)
			}
			push, pull, euis := srv.counts()
			if push == 0 || pull == 0 || strings.Join(euis, ",") != "aa555a0000000001" {
				t.Errorf("server got %d PUSH_DATA and %d PULL_DATA from %v", push, pull, euis)
			}
		})
	}
}

func TestSimhal_stalled(t *testing.T) {
	for _, sx1301 := range []bool{false, true} {
		t.Run(family(sx1301), func(t *testing.T) {
			h, _ := simhalHarness(t, sx1301, true, "SIMHAL_STALL_AFTER_S=2.5")
			h.start()
			first, i := h.wait("the first run", 0, h.running("EU868_A"))
			e, i := h.wait("a stalled verdict", i, verdict(supervisor.RuleStalled))
			if gap := e.Radio.Watchdog.At.Sub(*e.Radio.LastBlockAt); gap < 2500*time.Millisecond {
				t.Errorf("stalled %s after the last block, want at least 2.5 stat intervals", gap)
			}
			e, _ = h.wait("the restart", i, func(e event) bool { return e.State == supervisor.StateRunning && e.Restarts == 1 })
			if alive(first.PID) {
				t.Errorf("the stalled forwarder (pid %d) is still alive", first.PID)
			}
			if !sx1301 && e.LastExit.Signal != "killed" {
				t.Errorf("last exit %+v, want SIGKILL: a stalled SX1302 forwarder ignores SIGTERM", e.LastExit)
			}
		})
	}
}

func TestSimhal_wedged(t *testing.T) {
	for _, env := range []string{"SIMHAL_FREEZE_COUNTER_AFTER_S=1.5", "SIMHAL_COUNTER_UNKNOWN_AFTER_S=1.5"} {
		t.Run(env, func(t *testing.T) {
			h, _ := simhalHarness(t, false, true, env)
			h.start()
			e, i := h.wait("a wedged verdict", 0, verdict(supervisor.RuleWedged))
			if e.Radio.Total.Blocks < 4 {
				t.Errorf("wedged after %d blocks, want at least 1 good and 3 stuck", e.Radio.Total.Blocks)
			}
			h.wait("the restart", i, func(e event) bool { return e.State == supervisor.StateRunning && e.Restarts == 1 })
		})
	}
}

// The SX1301's PPS time is latched and legitimately still for a minute:
// the counter rule must not judge it.
func TestSimhal_sx1301CounterIsNotJudged(t *testing.T) {
	h, _ := simhalHarness(t, true, true, "SIMHAL_COUNTER_UNKNOWN_AFTER_S=0.5")
	h.start()
	e, _ := h.wait("6 blocks", 0, blocks(6))
	if e.Radio.Watchdog.Verdict != "ok" || e.Restarts != 0 {
		t.Errorf("verdict %q, restarts %d; want ok, 0", e.Radio.Watchdog.Verdict, e.Restarts)
	}
}

func TestSimhal_upstreamLost(t *testing.T) {
	for _, sx1301 := range []bool{false, true} {
		t.Run(family(sx1301), func(t *testing.T) {
			h, srv := simhalHarness(t, sx1301, false)
			h.cfg.WatchdogNoAckSeconds = 3
			h.start()
			e, i := h.wait("an upstream-lost verdict", 0, verdict(supervisor.RuleUpstream))
			if push, _, _ := srv.counts(); push == 0 || e.Radio.Total.PushAcked != 0 {
				t.Errorf("server got %d PUSH_DATA, %d acknowledged; want some, none", push, e.Radio.Total.PushAcked)
			}
			h.wait("the restart", i, func(e event) bool { return e.State == supervisor.StateRunning && e.Restarts == 1 })
		})
	}
}

func TestSimhal_radioSilent(t *testing.T) {
	h, _ := simhalHarness(t, false, true, "SIMHAL_RX_PER_SEC=0")
	h.cfg.WatchdogNoRxSeconds = 2
	h.start()
	e, _ := h.wait("a radio-silent verdict", 0, verdict(supervisor.RuleRadioSilent))
	if e.Radio.Total.Received != 0 || e.Radio.Total.PushAcked == 0 {
		t.Errorf("totals %+v, want nothing received but the stat reports acknowledged", e.Radio.Total)
	}
}

package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"

	"pktfwd/watchdog"
)

// A real SX1302 forwarder's output, fed line by line, becomes the
// observations the rules use: its "concentrator started" line, its
// PULL_ACK and PUSH_ACK lines and its five blocks, in order.
func TestOutput_feed(t *testing.T) {
	data, err := os.ReadFile("../stats/testdata/sx1302-lora-net-2.1.0-simhal.txt")
	if err != nil {
		t.Fatal(err)
	}
	w := newWatch()
	out := &output{notify: w.notify}
	for _, l := range strings.Split(string(data), "\n") {
		out.feed(l)
	}
	w.begin(watchdog.Config{StatInterval: time.Second, Counter: true, Terminal: true}, true, time.Now().Add(-time.Second), out)
	obs := out.pending
	blocks, kinds := 0, map[watchdog.Line]int{}
	for _, o := range obs {
		if o.block != nil {
			blocks++
		}
		kinds[o.line]++
	}
	if blocks != 5 || kinds[watchdog.Started] != 1 || kinds[watchdog.PushAck] == 0 {
		t.Errorf("%d blocks, lines %v; want 5 blocks, one start line and PUSH_ACK lines", blocks, kinds)
	}
	w.absorb()
	if w.total.Blocks != 5 || w.run.StartedAt().IsZero() || len(out.pending) != 0 {
		t.Errorf("absorbed %d blocks, started %v, %d left", w.total.Blocks, w.run.StartedAt(), len(out.pending))
	}
}

// The queue is bounded: a loop that does not take keeps the latest.
func TestOutput_bounded(t *testing.T) {
	out := &output{notify: make(chan struct{}, 1)}
	for i := 0; i < 2*maxPending; i++ {
		out.feed("INFO: [down] PULL_ACK received in 1 ms")
	}
	if len(out.pending) != maxPending || out.dropped != maxPending {
		t.Errorf("%d queued, %d dropped; want %d each", len(out.pending), out.dropped, maxPending)
	}
}

func TestGatewayConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("global_conf.json", `{"SX130x_conf":{},"gateway_conf":{"gateway_ID":"AA555A0000000001"}}`)
	if d, ka, err := gatewayConf(dir, false); err != nil || d != 30*time.Second || ka != 5*time.Second {
		t.Errorf("no key: got %s, %s, %v, want 30s and 5s (the forwarder's defaults)", d, ka, err)
	}
	write("global_conf.json", `{"gateway_conf":{"stat_interval":2,"keepalive_interval":10}}`)
	write("local_conf.json", `{"gateway_conf":{"stat_interval":5}}`)
	if d, ka, err := gatewayConf(dir, false); err != nil || d != 2*time.Second || ka != 10*time.Second {
		t.Errorf("SX1302 family: got %s, %v, want 2s (it never reads local_conf.json)", d, err)
	}
	if d, _, err := gatewayConf(dir, true); err != nil || d != 5*time.Second {
		t.Errorf("SX1301: got %s, %v, want 5s from local_conf.json", d, err)
	}
	write("global_conf.json", `{"gateway_conf":`)
	if d, _, err := gatewayConf(dir, false); err == nil || d != 30*time.Second || !strings.Contains(err.Error(), "global_conf.json") {
		t.Errorf("broken file: got %s, %v, want 30s and an error naming the file", d, err)
	}
}

// BenchmarkObserve is the watchdog's cost per statistics block as the
// supervisor pays it: every line of a real SX1302 block (with the log lines
// of other threads around it) through the output reader's feed, then the
// loop's absorb and judgement. One op is one block.
func BenchmarkObserve(b *testing.B) {
	data, err := os.ReadFile("../stats/testdata/sx1302-lora-net-2.1.0-simhal.txt")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	w := newWatch()
	out := &output{notify: w.notify}
	w.begin(watchdog.Config{StatInterval: time.Second, Counter: true, NoAck: time.Hour, NoRx: time.Hour, Terminal: true}, true, time.Now(), out)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		for _, l := range lines {
			out.feed(l)
		}
		w.judge(time.Now())
		n += 5 // the capture holds 5 blocks
	}
	b.StopTimer()
	if got := w.total.Blocks; got < uint64(b.N) {
		b.Fatalf("counted %d blocks, want at least %d", got, b.N)
	}
}

// A verdict that comes as the forwarder exits by itself gives way to the
// exit: no restart is counted, nothing is logged for the verdict, so the
// exit's log line, cause and report come next (supervise's proc.done).
// testSupervisor is a supervisor that is never run, for the tests of its
// parts.
func testSupervisor(t *testing.T) (*Supervisor, *logtest.Hook) {
	dir := t.TempDir()
	cfg := Config{
		SPIBus: "spidev0.0", Chip: "auto", ConcentratorInterface: "spi", RegionPollInterval: time.Minute,
		DiagnosticsFilePath: filepath.Join(dir, "diagnostics"), StatusFilePath: filepath.Join(dir, "status.json"),
		RootDir: dir, SX1302Forwarder: "/bin/true", SX1301Dir: dir, GatewayEUI: "AA555A0000000001",
		ServerAddress: "127.0.0.1", ServerPortUp: 1680, ServerPortDown: 1680, GatewayEUISource: "mac",
		LoraPktFwdBeforeCheckSleepSeconds: 1, LoraPktFwdAfterSuccessSleepSeconds: 30, LoraPktFwdAfterFailureSleepSeconds: 1,
		LogLevel: "debug", LogFormat: "text", Watchdog: true,
	}
	logger, hook := logtest.NewNullLogger()
	s, err := New(cfg, Options{Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	return s, hook
}

// The relay's observations reach the rules through observeRelay: a lost
// primary upstream is reported, and a forwarder that sends no PULL_DATA
// for 3 keepalives gets the no_pull_data verdict.
func TestObserveRelay(t *testing.T) {
	s, _ := testSupervisor(t)
	s.relayMode = true
	out := &output{notify: s.wd.notify}
	start := time.Now()
	s.watchForwarder(out, start, true)
	out.feed("INFO: [main] concentrator started, packet can now be received")
	s.observeRelay(watchdog.Relay{LastPullData: time.Now(), Primary: watchdog.StateLost, PrimaryReason: "no answer for 300s"})
	select {
	case <-s.wd.notify:
	default:
		t.Fatal("observeRelay did not wake the loop")
	}
	j := s.wd.judge(time.Now())
	if j.Upstream != watchdog.StateLost || j.Report == nil || j.Verdict != nil || j.Next.IsZero() {
		t.Fatalf("judgement %+v: want the upstream lost, reported, no verdict, a next check", j)
	}
	if j = s.wd.judge(j.Next); j.Verdict == nil || j.Verdict.Rule != RuleNoPullData {
		t.Errorf("3 keepalives (5 s each, the default) without PULL_DATA: verdict %+v, want %s", j.Verdict, RuleNoPullData)
	}
}

func TestWatchdogRestart_exitWins(t *testing.T) {
	s, hook := testSupervisor(t)
	dir := s.cfg.RootDir
	proc, err := startProcess("/bin/true", dir, nil, true, func(string) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-proc.done
	proc.drained()
	if s.watchdogRestart(context.Background(), proc, Verdict{Rule: RuleStalled, Reason: "test"}) {
		t.Error("a verdict on a forwarder that had exited stopped it: the exit's handling is skipped")
	}
	if s.wd.fired != 0 || s.wd.esc.Count() != 0 || len(hook.AllEntries()) != 0 {
		t.Errorf("fired %d, escalation count %d, %d log entries; want the verdict dropped", s.wd.fired, s.wd.esc.Count(), len(hook.AllEntries()))
	}
}

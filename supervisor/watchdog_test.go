package supervisor_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

// statEvery is the simulated forwarder's stat interval in these tests: the
// least the forwarders accept (a whole number of seconds).
const statEvery = time.Second

// watchHarness is a harness whose simulated forwarder prints a statistics
// block every statEvery and behaves as mode says, with the watchdog on.
func watchHarness(t testing.TB, mode string) (*harness, *concentrator.SimRecorder) {
	return watchHarnessEvery(t, mode, statEvery)
}

func watchHarnessEvery(t testing.TB, mode string, every time.Duration) (*harness, *concentrator.SimRecorder) {
	h := newHarness(t)
	h.cfg.RegionOverride = "EU868"
	h.cfg.GlobalConfOverlay = fmt.Sprintf(`{"gateway_conf":{"stat_interval":%g}}`, every.Seconds())
	h.cfg.Watchdog = true
	h.opt.StopGrace = 300 * time.Millisecond
	rec := &concentrator.SimRecorder{}
	h.opt.Lines = &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power"), Step: time.Millisecond}
	if mode != "" {
		h.setMode(mode)
	}
	return h, rec
}

func verdict(rule string) func(event) bool {
	return func(e event) bool { return e.Radio != nil && e.Radio.Watchdog.Verdict == rule }
}

// blocks waits until n statistics blocks were counted.
func blocks(n uint64) func(event) bool {
	return func(e event) bool { return e.Radio != nil && e.Radio.Total.Blocks >= n }
}

func TestWatchdog_restartsStalledForwarder(t *testing.T) {
	h, rec := watchHarness(t, "stall:1.5s")
	h.start()
	first, i := h.wait("the first run", 0, h.running("EU868_A"))
	e, i := h.wait("a stalled verdict", i, verdict(supervisor.RuleStalled))
	w := e.Radio.Watchdog
	if gap := w.At.Sub(*e.Radio.LastBlockAt); gap < 5*statEvery/2 {
		t.Errorf("stalled after %s without a block, want at least 2.5 stat intervals (%s)", gap, 5*statEvery/2)
	}
	if err := supervisor.Health(e.Status, time.Now(), time.Minute); err == nil || !strings.Contains(err.Error(), "watchdog: stalled") {
		t.Errorf("Health during the verdict: %v, want the stalled verdict", err)
	}
	stopped, i := h.wait("the stop", i, func(e event) bool { return e.LastExit != nil && e.PID == 0 })
	if stopped.diag != "false" || stopped.LastExit.Signal != "killed" {
		t.Errorf("after the stop: diagnostics %q, last exit %+v; want false, and SIGKILL (the stalled forwarder ignores SIGTERM)", stopped.diag, stopped.LastExit)
	}
	if alive(first.PID) {
		t.Errorf("the stalled forwarder (pid %d) is still alive", first.PID)
	}
	backoff, i := h.wait("the back-off", i, func(e event) bool { return e.State == supervisor.StateBackoff && e.BackoffSecs > 0 })
	second, i := h.wait("the restart", i, func(e event) bool { return e.State == supervisor.StateRunning && e.Restarts == 1 })
	if second.PID == first.PID || second.StartedAt.Sub(backoff.UpdatedAt) < time.Duration(backoff.BackoffSecs*float64(time.Second)) {
		t.Errorf("restart: pid %d (was %d), started %s after the back-off of %gs began", second.PID, first.PID, second.StartedAt.Sub(backoff.UpdatedAt), backoff.BackoffSecs)
	}
	if n := countEdges(rec, "power", 0); n != 0 {
		t.Errorf("power switched off %d times after the first verdict, want only a reset", n)
	}
	// The mode file still says stall: the same verdict again escalates to a
	// power cycle.
	_, i = h.wait("the second verdict", i, func(e event) bool {
		return e.Radio != nil && e.Radio.Watchdog.Restarts == 2 && e.Radio.Watchdog.Last.Rule == supervisor.RuleStalled
	})
	h.wait("the third run", i, func(e event) bool { return e.State == supervisor.StateRunning && e.Restarts == 2 })
	if n := countEdges(rec, "power", 0); n != 1 {
		t.Errorf("power switched off %d times after the second stalled verdict, want 1 power cycle", n)
	}
	errs := 0
	for _, e := range h.logs.AllEntries() {
		if e.Level == logrus.ErrorLevel && strings.Contains(e.Message, "watchdog: stalled") {
			errs++
		}
	}
	if n := errs; n != 2 {
		t.Errorf("%d log entries for 2 verdicts, want each logged once:\n%s", n, h.logText())
	}
}

func countEdges(rec *concentrator.SimRecorder, line string, value int) int {
	n := 0
	for _, e := range rec.Edges() {
		if e.Line == line && e.Value == value {
			n++
		}
	}
	return n
}

func TestWatchdog_wedgedConcentrator(t *testing.T) {
	for _, mode := range []string{"freeze-counter:1.5s", "counter-unknown:1.5s"} {
		t.Run(mode, func(t *testing.T) {
			h, _ := watchHarness(t, mode)
			h.start()
			e, i := h.wait("a wedged verdict", 0, verdict(supervisor.RuleWedged))
			if !strings.Contains(e.Radio.Watchdog.Reason, "3 blocks in a row") {
				t.Errorf("reason %q, want the evidence", e.Radio.Watchdog.Reason)
			}
			h.wait("the restart", i, func(e event) bool { return e.State == supervisor.StateRunning && e.Restarts == 1 })
		})
	}
}

// An unreachable upstream is reported once, with its rule as a tag, and
// the forwarder is left running: a restart cannot mend a network.
func TestWatchdog_upstreamLost(t *testing.T) {
	h, rec := watchHarness(t, "noack")
	h.cfg.WatchdogNoAckSeconds = 1
	reports := &reportLog{}
	h.opt.Reporter = reports
	h.start()
	e, i := h.wait("the upstream lost", 0, func(e event) bool { return e.Radio != nil && e.Radio.Upstream.State == "lost" })
	if e.Radio.Upstream.Since == nil || !strings.Contains(e.Radio.Upstream.Reason, "none acknowledged") {
		t.Errorf("upstream %+v, want the evidence", e.Radio.Upstream)
	}
	if e.Radio.Total.PushSent == 0 || e.Radio.Total.PushAcked != 0 {
		t.Errorf("totals %+v, want PUSH_DATA sent and none acknowledged", e.Radio.Total)
	}
	h.wait("3 more blocks", i, blocks(e.Radio.Total.Blocks+3))
	last := h.last()
	if last.Restarts != 0 || last.PID != e.PID || last.State != supervisor.StateRunning || countEdges(rec, "power", 0) != 0 {
		t.Errorf("after upstream_lost: restarts %d, pid %d (was %d), state %s, %d power cycles; want the forwarder left alone",
			last.Restarts, last.PID, e.PID, last.State, countEdges(rec, "power", 0))
	}
	if err := supervisor.Health(last.Status, time.Now(), time.Minute); err != nil {
		t.Errorf("Health while the upstream is lost: %v, want healthy (a restart of pktfwd cannot mend it)", err)
	}
	if err := supervisor.HealthUpstreams(last.Status, time.Now(), time.Minute); err == nil || !strings.Contains(err.Error(), "upstream lost") {
		t.Errorf("HealthUpstreams while the upstream is lost: %v", err)
	}
	if n := h.logCount("watchdog: upstream_lost"); n != 1 {
		t.Errorf("%d log entries for one outage, want 1:\n%s", n, h.logText())
	}
	if got := reports.rules(); len(got) != 1 || got[0] != supervisor.RuleUpstream {
		t.Errorf("reports tagged %v, want one with rule %s", got, supervisor.RuleUpstream)
	}
}

// reportLog records reports.
type reportLog struct {
	mu   sync.Mutex
	tags []map[string]string
}

func (r *reportLog) Report(_ error, tags map[string]string, _ []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tags = append(r.tags, tags)
}

// rules returns the rule tag of each report that has one.
func (r *reportLog) rules() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, t := range r.tags {
		if v, ok := t[supervisor.RuleTag]; ok {
			out = append(out, v)
		}
	}
	return out
}

func TestWatchdog_radioSilent(t *testing.T) {
	h, _ := watchHarness(t, "silent")
	h.cfg.WatchdogNoRxSeconds = 1
	h.start()
	e, _ := h.wait("a radio-silent verdict", 0, verdict(supervisor.RuleRadioSilent))
	if e.Radio.Total.Received != 0 {
		t.Errorf("received %d, want 0", e.Radio.Total.Received)
	}
}

func TestWatchdog_offLeavesForwarderAlone(t *testing.T) {
	h, _ := watchHarness(t, "counter-unknown:0s")
	h.cfg.Watchdog = false
	h.start()
	e, _ := h.wait("5 blocks", 0, blocks(5))
	if e.Radio.Watchdog.Verdict != "off" || e.Restarts != 0 || !e.Radio.CounterUnknown {
		t.Errorf("with WATCHDOG=false: verdict %q, restarts %d, counter unknown %v; want off, 0, true", e.Radio.Watchdog.Verdict, e.Restarts, e.Radio.CounterUnknown)
	}
}

// A healthy forwarder: statistics in status.json, pktfwd health content,
// and the same figures on /metrics and /healthz.
func TestWatchdog_healthyForwarderStatus(t *testing.T) {
	h, _ := watchHarness(t, "")
	if metricsBuilt {
		h.cfg.MetricsAddr = "127.0.0.1:0"
	}
	h.cfg.WatchdogNoAckSeconds = 1
	h.cfg.LoraPktFwdAfterSuccessSleepSeconds = 1
	h.start()
	e1, i := h.wait("2 blocks", 0, func(e event) bool { return blocks(2)(e) && e.State == supervisor.StateRunning })
	e2, _ := h.wait("5 blocks", i, blocks(5))
	r := e2.Radio
	if r.Watchdog.Verdict != "ok" || e2.Restarts != 0 || r.Family != "sx1302" || r.StatIntervalSecs != statEvery.Seconds() {
		t.Errorf("radio %+v, want a healthy SX1302 at stat interval %s", r, statEvery)
	}
	if r.Interval == nil || r.Interval.Received == 0 || r.Interval.PushAckPct != 100 || *r.TemperatureC != 41 {
		t.Errorf("latest interval %+v, temperature %v", r.Interval, r.TemperatureC)
	}
	if *r.SX1302Counter <= *e1.Radio.SX1302Counter {
		t.Errorf("SX1302 counter went from %d to %d, want it to move", *e1.Radio.SX1302Counter, *r.SX1302Counter)
	}
	if r.Total.Received < 5 || r.Total.PushAckPct != 100 { // about 2 uplinks a second, at random
		t.Errorf("totals %+v", r.Total)
	}
	var st supervisor.Status
	b, err := os.ReadFile(h.cfg.StatusFilePath)
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := supervisor.Health(st, time.Now(), time.Second); err != nil {
		t.Errorf("Health of status.json: %v", err)
	}
	if !metricsBuilt {
		return
	}
	addr := metricsAddr(t, h)
	body := get(t, "http://"+addr+"/metrics", 200)
	for _, want := range []string{
		"# TYPE pktfwd_rx_packets_total counter\npktfwd_rx_packets_total ",
		"pktfwd_forwarder_running 1\n", "pktfwd_healthy 1\n", "pktfwd_concentrator_temperature_celsius 41\n",
		`pktfwd_watchdog_ok{verdict="ok"} 1`, `pktfwd_info{version="test",chip="sx1302",region="EU868_A"} 1`,
		"pktfwd_upstream_lost 0\n", "# TYPE pktfwd_last_stat_block_age_seconds gauge\npktfwd_last_stat_block_age_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if got := get(t, "http://"+addr+"/healthz", 200); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	h.stop()
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the metrics server still answers after Run returned")
	}
}

func metricsAddr(t *testing.T, h *harness) string {
	t.Helper()
	h.waitLog(logrus.InfoLevel, "serving /metrics", 1)
	for _, e := range h.logs.AllEntries() {
		if a, ok := e.Data["metrics_addr"].(string); ok {
			return a
		}
	}
	t.Fatal("no metrics_addr logged")
	return ""
}

func get(t *testing.T, url string, code int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Errorf("GET %s: %d %s, want %d", url, resp.StatusCode, b, code)
	}
	return string(b)
}

func TestHealth(t *testing.T) {
	now := time.Now()
	started := now.Add(-time.Minute)
	recent := now.Add(-time.Second)
	running := supervisor.Status{State: supervisor.StateRunning, PID: os.Getpid(), StartedAt: &started, UpdatedAt: recent,
		Radio: &supervisor.RadioStats{StatIntervalSecs: 30, LastBlockAt: &recent, Watchdog: supervisor.WatchdogStatus{Verdict: "ok"}}}
	if err := supervisor.Health(running, now, 30*time.Second); err != nil {
		t.Fatalf("healthy status: %v", err)
	}
	old := now.Add(-86 * time.Second)
	age := func(s float64) *float64 { return &s }
	for _, tc := range []struct {
		name string
		edit func(*supervisor.Status)
		want string // "" for healthy
	}{
		{"backoff", func(s *supervisor.Status) { s.State, s.LastError = supervisor.StateBackoff, "forwarder exit code 1" }, "not running (state backoff): forwarder exit code 1"},
		{"dead pid", func(s *supervisor.Status) { s.PID = deadPID(t) }, "is gone"},
		{"a pid of another namespace is not checked", func(s *supervisor.Status) { s.PID, s.PIDNamespace = deadPID(t), "pid:[1]" }, ""},
		{"stale status: two refresh intervals", func(s *supervisor.Status) { s.UpdatedAt = now.Add(-61 * time.Second) }, "status.json was last written 1m1s ago"},
		{"within two refresh intervals", func(s *supervisor.Status) { s.UpdatedAt = now.Add(-59 * time.Second) }, ""},
		{"stale block", func(s *supervisor.Status) { s.Radio.LastBlockAt = &old }, "no statistics block from the forwarder for 1m26s since the last one"},
		{"block age as written wins over wall clocks", func(s *supervisor.Status) {
			future := now.Add(time.Hour) // the clock stepped back an hour after the write
			s.Radio.LastBlockAt, s.Radio.LastBlockAgeSecs = &future, age(86)
		}, "for 1m27s since the last one"},
		{"a fresh block by its age, though its time is old", func(s *supervisor.Status) { s.Radio.LastBlockAt, s.Radio.LastBlockAgeSecs = &old, age(2) }, ""},
		{"slow start: no block within the start limit", func(s *supervisor.Status) { s.Radio.LastBlockAt, s.StartedAt = nil, &old }, ""},
		{"no block since start", func(s *supervisor.Status) { s.Radio.LastBlockAt, s.StartedAgeSecs = nil, age(300) }, "since the forwarder started"},
		{"WATCHDOG=false: no block-age check", func(s *supervisor.Status) {
			s.Radio.LastBlockAt, s.Radio.Watchdog.Verdict = &old, "off"
		}, ""},
		{"no terminal: no block-age check", func(s *supervisor.Status) {
			s.Radio.LastBlockAt, s.Radio.Watchdog.StallRuleOff = &old, "a pipe"
		}, ""},
		{"upstream lost is no fault of the forwarder", func(s *supervisor.Status) { s.Radio.Upstream.State = "lost" }, ""},
		{"verdict", func(s *supervisor.Status) {
			s.Radio.Watchdog = supervisor.WatchdogStatus{Verdict: "stalled", Reason: "no blocks"}
		}, "watchdog: stalled: no blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := running
			r := *running.Radio
			st.Radio = &r
			tc.edit(&st)
			err := supervisor.Health(st, now, 30*time.Second)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	return p.Pid
}

// A concentrator that takes 6 s to start at stat_interval 1 is not a
// stall: the stall clock starts at its "concentrator started" line.
func TestWatchdog_slowStartIsNoStall(t *testing.T) {
	h, rec := watchHarness(t, "slow-start:6s")
	h.start()
	e, _ := h.wait("3 blocks", 0, blocks(3))
	if e.Restarts != 0 || e.Radio.Watchdog.Restarts != 0 || countEdges(rec, "power", 0) != 0 {
		t.Errorf("a 6 s start: %d restarts (watchdog %d), %d power cycles; want none\n%s", e.Restarts, e.Radio.Watchdog.Restarts, countEdges(rec, "power", 0), h.logText())
	}
}

// Through a pipe the forwarder's blocks come in bursts: the stall rule is
// off, status.json says why, and health does not judge the block age.
func TestWatchdog_noTerminal(t *testing.T) {
	h, _ := watchHarness(t, "")
	h.opt.NoTerminal = true
	h.start()
	first, i := h.wait("running", 0, h.running("EU868_A"))
	if r := first.Radio; r == nil || !strings.Contains(r.Watchdog.StallRuleOff, "pipe") {
		t.Fatalf("radio %+v: want stall_rule_off saying why", first.Radio)
	}
	e, _ := h.wait("6 blocks", i, blocks(6)) // 4 KiB bursts of 3 to 4 blocks
	if e.Restarts != 0 || e.PID != first.PID {
		t.Errorf("through a pipe: %d restarts, pid %d (was %d); want none\n%s", e.Restarts, e.PID, first.PID, h.logText())
	}
	var st supervisor.Status // as another container reads it, with a block an hour old
	b, _ := json.Marshal(e.Status)
	json.Unmarshal(b, &st)
	hour := 3600.0
	st.Radio.LastBlockAgeSecs = &hour
	if err := supervisor.Health(st, time.Now(), time.Minute); err != nil {
		t.Errorf("Health without a terminal: %v, want no block-age check", err)
	}
}

// lateServer is a GWMP server that answers each PUSH_DATA and PULL_DATA
// after delay, as a live server far away does.
func lateServer(t *testing.T, delay time.Duration) int {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return // closed
			}
			if n < 12 || buf[0] != 2 || (buf[3] != 0 && buf[3] != 2) {
				continue
			}
			ack := []byte{2, buf[1], buf[2], 1} // PUSH_ACK
			if buf[3] == 2 {
				ack[3] = 4 // PULL_ACK
			}
			time.AfterFunc(delay, func() { conn.WriteToUDP(ack, from) }) // after Close: an error, ignored
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return conn.LocalAddr().(*net.UDPAddr).Port
}

// A live server 150 ms away: the forwarder ignores its late PUSH_ACKs
// (push_timeout_ms 100) but its PULL_ACKs arrive. That is no lost
// upstream: no restart, no report, one warning naming push_timeout_ms.
func TestWatchdog_farServerIsNotLost(t *testing.T) {
	h, rec := watchHarness(t, "")
	port := lateServer(t, 150*time.Millisecond)
	h.cfg.ServerPortUp, h.cfg.ServerPortDown = port, port
	h.cfg.GlobalConfOverlay = `{"gateway_conf":{"stat_interval":1,"keepalive_interval":1}}`
	h.cfg.WatchdogNoAckSeconds = 2
	reports := &reportLog{}
	h.opt.Reporter = reports
	h.start()
	first, i := h.wait("running", 0, h.running("EU868_A"))
	e, _ := h.wait("6 blocks", i, blocks(6))
	if r := e.Radio; r.Total.PushAcked != 0 || r.Total.PullAcked == 0 {
		t.Fatalf("totals %+v: want PUSH_DATA never acknowledged in time, PULL_DATA acknowledged (is the server 150 ms away?)", r.Total)
	}
	if e.Restarts != 0 || e.PID != first.PID || e.Radio.Upstream.State != "ok" || countEdges(rec, "power", 0) != 0 || len(reports.rules()) != 0 {
		t.Errorf("a far server: %d restarts, pid %d (was %d), upstream %+v, %d power cycles, reports %v; want none and ok\n%s",
			e.Restarts, e.PID, first.PID, e.Radio.Upstream, countEdges(rec, "power", 0), reports.rules(), h.logText())
	}
	h.waitLog(logrus.WarnLevel, "push_timeout_ms", 1)
	if n := h.logCount("push_timeout_ms"); n != 1 {
		t.Errorf("%d warnings naming push_timeout_ms, want 1", n)
	}
}

// A concentrator that never finishes its start is a start failure with
// its own rule, restarted without a power cycle; not a stall.
func TestWatchdog_startTimeout(t *testing.T) {
	h, rec := watchHarness(t, "slow-start:1h")
	h.opt.StartLimit = 2 * time.Second
	h.start()
	e, i := h.wait("a start_timeout verdict", 0, verdict(supervisor.RuleStartTimeout))
	if w := e.Radio.Watchdog; w.At.Sub(*e.StartedAt) < 2*time.Second || !strings.Contains(w.Reason, "concentrator started") {
		t.Errorf("verdict %+v %s after the start, want the start limit of 2 s and the missing line named", w, w.At.Sub(*e.StartedAt))
	}
	h.wait("the second verdict", i, func(e event) bool { return e.Radio != nil && e.Radio.Watchdog.Restarts == 2 })
	if n := countEdges(rec, "power", 0); n != 0 {
		t.Errorf("%d power cycles for start_timeout, want none (only stalled and concentrator_wedged escalate)", n)
	}
}

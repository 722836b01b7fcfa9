package supervisor_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
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

func TestWatchdog_upstreamLost(t *testing.T) {
	h, _ := watchHarness(t, "noack")
	h.cfg.WatchdogNoAckSeconds = 1
	h.start()
	e, _ := h.wait("an upstream-lost verdict", 0, verdict(supervisor.RuleUpstream))
	if w := e.Radio.Watchdog; w.At.Sub(*e.StartedAt) < 900*time.Millisecond || !strings.Contains(w.Reason, "none acknowledged") {
		t.Errorf("verdict %+v at %s after the start, want at least WATCHDOG_NO_ACK_SECONDS", w, w.At.Sub(*e.StartedAt))
	}
	if e.Radio.Total.PushSent == 0 || e.Radio.Total.PushAcked != 0 {
		t.Errorf("totals %+v, want PUSH_DATA sent and none acknowledged", e.Radio.Total)
	}
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
	if r.Total.Received < 10 || r.Total.PushAckPct != 100 {
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
		t.Skip("the status is checked; this build (-tags nometrics) has no /metrics and /healthz to check")
	}
	addr := metricsAddr(t, h)
	body := get(t, "http://"+addr+"/metrics", 200)
	for _, want := range []string{
		"# TYPE pktfwd_rx_packets_total counter\npktfwd_rx_packets_total ",
		"pktfwd_forwarder_running 1\n", "pktfwd_healthy 1\n", "pktfwd_concentrator_temperature_celsius 41\n",
		`pktfwd_watchdog_ok{verdict="ok"} 1`, `pktfwd_info{version="test",chip="sx1302",region="EU868_A"} 1`,
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
	for _, tc := range []struct {
		name string
		edit func(*supervisor.Status)
		want string
	}{
		{"backoff", func(s *supervisor.Status) { s.State, s.LastError = supervisor.StateBackoff, "forwarder exit code 1" }, "not running (state backoff): forwarder exit code 1"},
		{"dead pid", func(s *supervisor.Status) { s.PID = deadPID(t) }, "is gone"},
		{"stale status", func(s *supervisor.Status) { s.UpdatedAt = now.Add(-41 * time.Second) }, "status.json was last written 41s ago"},
		{"stale block", func(s *supervisor.Status) { s.Radio.LastBlockAt = &old }, "no statistics block from the forwarder for 1m26s since the last one"},
		{"no block since start", func(s *supervisor.Status) { s.Radio.LastBlockAt, s.StartedAt = nil, &old }, "since the forwarder started"},
		{"verdict", func(s *supervisor.Status) {
			s.Radio.Watchdog = supervisor.WatchdogStatus{Verdict: "upstream_lost", Reason: "no acks"}
		}, "watchdog: upstream_lost: no acks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := running
			r := *running.Radio
			st.Radio = &r
			tc.edit(&st)
			err := supervisor.Health(st, now, 30*time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
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

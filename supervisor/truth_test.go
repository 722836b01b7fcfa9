package supervisor_test

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"pktfwd/supervisor"
)

// Issue 12's invariant: whenever no forwarder of ours is alive, diagnostics
// is false; these tests each break it a different way.

// A descendant that left the forwarder's process group keeps the terminal
// open: the forwarder's own exit is still seen at once, the restart and the
// shutdown are not held up by the terminal.
func TestTruth_ExitSeenWhileADescendantHoldsTheTerminal(t *testing.T) {
	h := newHarness(t)
	h.setMode("setsid-child:1s")
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("running", 0, h.running("EU868_A"))
	fd, err := unix.PidfdOpen(e.PID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	h.waitLog(4, "started a setsid-child", 1)
	child := setsidChild(t, h)
	defer syscall.Kill(child, syscall.SIGKILL)
	if _, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 15000); err != nil {
		t.Fatal(err)
	}
	exitedAt := time.Now()
	x, next := h.wait("diagnostics false after the exit", next, func(x event) bool { return x.LastExit != nil })
	latency := x.UpdatedAt.Sub(exitedAt)
	t.Logf("forwarder exit → diagnostics false: %s (the descendant %d still holds the terminal)", latency, child)
	if x.diag != "false" || x.PID != 0 {
		t.Errorf("at the exit: diag %q pid %d", x.diag, x.PID)
	}
	if latency > 50*time.Millisecond {
		t.Errorf("diagnostics false %s after the exit, want < 50ms", latency)
	}
	if !alive(child) {
		t.Fatal("the test needs the descendant alive")
	}
	h.wait("a restart", next, func(x event) bool { return x.PID != 0 && x.PID != e.PID })
	began := time.Now()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > h.opt.StopGrace+time.Second {
		t.Errorf("shutdown took %s with a descendant holding the terminal", d)
	}
}

// setsidChild finds the pid of the descendant the forwarder started in its
// own session, from the forwarder's log.
func setsidChild(t *testing.T, h *harness) int {
	t.Helper()
	h.waitLog(logrus.InfoLevel, "setsid-child, pid", 1)
	m := regexp.MustCompile(`setsid-child, pid (\d+)`).FindStringSubmatch(h.logText())
	if m == nil {
		t.Fatalf("no setsid child in the log:\n%s", h.logText())
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// A SIGHUP flood starts at most one forwarder per back-off step, and a
// SIGHUP during the first wait does not kill the first start.
func TestTruth_SighupFloodCoalesces(t *testing.T) {
	h := newHarness(t)
	h.cfg.AwaitSystemSleepSeconds = 0.3
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 0.5
	h.cfg.LoraPktFwdAfterSuccessSleepSeconds = 0.1 // refresh events to wait on
	h.writeRegion("EU868")
	h.start()
	h.wait("starting", 0, func(e event) bool { return e.State == supervisor.StateStarting })
	h.sup.Reload() // during the first wait
	first, next := h.wait("running", 0, h.running("EU868_A"))
	for i := 0; i < 3; i++ { // three refreshes later, the first start still runs
		_, next = h.wait("a refresh", next, func(event) bool { return true })
	}
	if !alive(first.PID) || h.last().PID != first.PID {
		t.Fatalf("a SIGHUP during the first wait killed the first start (pid %d, now %d)", first.PID, h.last().PID)
	}
	began := time.Now()
	flood := time.NewTicker(5 * time.Millisecond)
	for time.Since(began) < 2*time.Second {
		<-flood.C
		h.sup.Reload()
	}
	flood.Stop()
	window := time.Since(began)
	pids := startedSince(h, first.PID)
	limit := int(window/(500*time.Millisecond)) + 1
	t.Logf("%d SIGHUPs in %s: %d forwarder starts (limit %d)", int(window/(5*time.Millisecond)), window.Round(time.Millisecond), len(pids), limit)
	if len(pids) == 0 || len(pids) > limit {
		t.Errorf("%d starts during a %s SIGHUP flood, want 1 to %d", len(pids), window, limit)
	}
}

// startedSince returns the forwarders started after the one with pid first,
// as the status events show them.
func startedSince(h *harness, first int) map[int]bool {
	pids := map[int]bool{}
	for _, e := range h.snapshot() {
		if e.PID != 0 && e.PID != first {
			pids[e.PID] = true
		}
	}
	return pids
}

// A region flapping between two plans restarts the forwarder at most once
// per back-off step and settles on the last value.
func TestTruth_FlappingRegionCoalesces(t *testing.T) {
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 0.5
	h.writeRegion("EU868")
	h.start()
	first, _ := h.wait("running", 0, h.running("EU868_A"))
	began := time.Now()
	for i := 0; time.Since(began) < 2*time.Second; i++ {
		if i%2 == 0 {
			h.writeRegion("US915")
		} else {
			h.writeRegion("EU868")
		}
		time.Sleep(20 * time.Millisecond) // the miner's pace, not a wait for the supervisor
	}
	window := time.Since(began)
	h.writeRegion("AU915")
	h.wait("settled on AU915", 0, h.running("AU915_SB2"))
	pids := startedSince(h, first.PID)
	limit := int(window/(500*time.Millisecond)) + 2
	t.Logf("region flapping every 20ms for %s: %d forwarder starts (limit %d)", window.Round(time.Millisecond), len(pids), limit)
	if len(pids) > limit {
		t.Errorf("%d starts while the region flapped for %s, want at most %d", len(pids), window, limit)
	}
}

// A deleted or altered diagnostics file is rewritten within the refresh
// interval, not only on the next state change: a stale "true" left by
// another program while no forwarder runs is turned back to false.
func TestTruth_DiagnosticsFileHeals(t *testing.T) {
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterSuccessSleepSeconds = 0.1
	h.writeRegion("EU868")
	h.start()
	_, next := h.wait("running", 0, h.running("EU868_A"))
	os.Remove(h.cfg.DiagnosticsFilePath)
	_, next = h.wait("diagnostics recreated", next, func(e event) bool { return e.diag == "true" })
	os.WriteFile(h.cfg.DiagnosticsFilePath, []byte("false"), 0o644)
	_, next = h.wait("diagnostics healed", next, func(e event) bool { return e.diag == "true" })
	removed := time.Now()
	os.Remove(h.cfg.StatusFilePath)
	h.wait("status.json recreated", next, func(e event) bool { return e.UpdatedAt.After(removed) })
	if _, err := os.Stat(h.cfg.StatusFilePath); err != nil {
		t.Errorf("status.json not recreated: %v", err)
	}
}

func TestTruth_StaleTrueHealsWhileNothingRuns(t *testing.T) {
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterSuccessSleepSeconds = 0.1
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 3600
	h.opt.MaxBackoff = time.Hour
	h.setMode("crash")
	h.writeRegion("EU868")
	h.start()
	_, next := h.wait("back-off", 0, func(e event) bool { return e.State == supervisor.StateBackoff })
	os.WriteFile(h.cfg.DiagnosticsFilePath, []byte("true"), 0o644)
	h.wait("diagnostics back to false", next, func(e event) bool { return e.diag == "false" && e.State == supervisor.StateBackoff })
}

// The forwarder's environment is the supervisor's plus PKTFWD_SUPERVISED=1,
// without the Sentry DSN; the supervisor's own environment is untouched.
func TestTruth_ForwarderEnvironment(t *testing.T) {
	t.Setenv("SENTRY_KEY", "https://secret@sentry.example/1")
	t.Setenv("SENTRY_PKTFWD", "https://secret@sentry.example/2")
	t.Setenv("PKTFWD_TEST_MARKER", "kept")
	before := os.Environ()
	h := newHarness(t)
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("running", 0, h.running("EU868_A"))
	b, err := os.ReadFile("/proc/" + strconv.Itoa(e.PID) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
	has := func(kv string) bool {
		for _, x := range env {
			if x == kv {
				return true
			}
		}
		return false
	}
	if strings.Contains(string(b), "secret@") {
		t.Error("the Sentry DSN reached the forwarder's environment")
	}
	if !has("PKTFWD_SUPERVISED=1") || !has("PKTFWD_TEST_MARKER=kept") {
		t.Errorf("forwarder environment lacks PKTFWD_SUPERVISED=1 or the supervisor's variables: %q", env)
	}
	if after := os.Environ(); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Error("the supervisor changed its own environment")
	}
}

// Stopping writes diagnostics false before anything else: no status event
// in state stopping or stopped shows true.
func TestTruth_StopWritesFalseFirst(t *testing.T) {
	h := newHarness(t)
	h.setMode("ignore-term")
	h.opt.StopGrace = 300 * time.Millisecond
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("running", 0, h.running("EU868_A"))
	began := time.Now()
	h.stop()
	if d := time.Since(began); d > h.opt.StopGrace+time.Second {
		t.Errorf("SIGTERM took %s with a forwarder ignoring it, want < StopGrace + 1s", d)
	}
	for _, ev := range h.snapshot() {
		if (ev.State == supervisor.StateStopping || ev.State == supervisor.StateStopped) && ev.diag != "false" {
			t.Errorf("diagnostics %q in state %s", ev.diag, ev.State)
		}
	}
	if alive(e.PID) {
		t.Errorf("forwarder %d alive after stop", e.PID)
	}
}

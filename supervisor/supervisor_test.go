package supervisor_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

func TestRun_StartsOnTheRegionFile(t *testing.T) {
	h := newHarness(t)
	h.writeRegion("EU868\n")
	h.start()
	e, _ := h.wait("running on EU868_A", 0, h.running("EU868_A"))
	if e.diag != "true" {
		t.Errorf("diagnostics %q while running", e.diag)
	}
	if e.Chip != "sx1302" || e.ChipVersion != "0x10" || e.RegionSource != "file "+h.cfg.RegionFilePath || e.PID == 0 || e.GatewayEUI != "AA555A0000000001" {
		t.Errorf("status %+v", e.Status)
	}
	if g := h.globalConf(); !strings.Contains(g, `"freq": 867500000`) || !strings.Contains(g, `"spidev_path": "/dev/spidev0.0"`) {
		t.Errorf("global_conf.json:\n%s", g)
	}
	st, err := os.Stat(filepath.Join(h.cfg.RootDir, "reset_lgw.sh"))
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("reset_lgw.sh not installed executable: %v", err)
	}
	// The forwarder's lines reach the log as their own entries, tagged.
	h.waitLog(logrus.InfoLevel, "concentrator started", 1)
	found := false
	for _, le := range h.logs.AllEntries() {
		if le.Data["source"] == "lora_pkt_fwd" && strings.Contains(le.Message, "concentrator started") {
			found = true
		}
	}
	if !found {
		t.Errorf("the forwarder's lines are not in the log:\n%s", h.logText())
	}
	var onDisk supervisor.Status
	b, _ := os.ReadFile(h.cfg.StatusFilePath)
	if err := json.Unmarshal(b, &onDisk); err != nil || onDisk.Version != "test" {
		t.Errorf("status.json %s: %v", b, err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if d, _ := os.ReadFile(h.cfg.DiagnosticsFilePath); string(d) != "false" {
		t.Errorf("diagnostics after stop: %q", d)
	}
	if h.last().State != supervisor.StateStopped || alive(e.PID) {
		t.Errorf("after stop: state %s, forwarder alive %v", h.last().State, alive(e.PID))
	}
}

// The forwarder prints "concentrator started" and never flushes a pipe:
// only a terminal makes the line arrive while it runs, and survive SIGKILL.
func TestRun_KilledForwarderKeepsItsLog(t *testing.T) {
	h := newHarness(t)
	h.writeRegion("US915")
	h.start()
	e, next := h.wait("running", 0, h.running("US915_SB2"))
	h.waitLog(logrus.InfoLevel, "concentrator started", 1) // while it runs, before the kill
	syscall.Kill(e.PID, syscall.SIGKILL)
	e, _ = h.wait("the exit", next, func(e event) bool { return e.LastExit != nil })
	if e.LastExit.Signal != "killed" || e.diag != "false" {
		t.Errorf("exit %+v diag %q", e.LastExit, e.diag)
	}
	h.waitLog(logrus.ErrorLevel, "last lines:", 1) // logged once the output is drained
	if n := h.logCount("last lines:\n  *** Packet Forwarder"); n != 1 {
		t.Errorf("exit logged %d times with the last lines:\n%s", n, h.logText())
	}
}

func TestRun_ExitModes(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		code   int
		signal string
	}{
		{"crash:3", 3, ""},
		{"exit0", 0, ""},
		{"signal:SEGV", -1, "segmentation fault"},
		{"signal:ABRT", -1, "aborted"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.LoraPktFwdBeforeCheckSleepSeconds = 2 // a loaded machine may take 200 ms to die by a signal
			h.setMode(tc.mode)
			h.writeRegion("EU868")
			h.start()
			e, _ := h.wait("three restarts", 0, func(e event) bool { return e.Restarts >= 3 })
			if e.LastExit == nil || e.LastExit.Code != tc.code || e.LastExit.Signal != tc.signal {
				t.Errorf("last exit %+v, want code %d signal %q", e.LastExit, tc.code, tc.signal)
			}
			for _, ev := range h.snapshot() {
				if ev.diag == "true" && ev.State != supervisor.StateRunning {
					t.Errorf("diagnostics true in state %s", ev.State)
				}
				if ev.LastExit != nil && ev.PID == 0 && ev.diag == "true" {
					t.Errorf("diagnostics true after an exit: %+v", ev.Status)
				}
			}
			if tc.mode != "exit0" {
				if h.logCount("forwarder is running") != 0 {
					t.Error("a forwarder dying at start was reported running")
				}
			}
		})
	}
}

func TestRun_ExitFlipsDiagnosticsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.setMode("crash-after:400ms")
	h.writeRegion("EU868")
	h.start()
	_, next := h.wait("running", 0, h.running("EU868_A"))
	e, _ := h.wait("the exit", next, func(e event) bool { return e.LastExit != nil })
	if e.diag != "false" || e.LastExit.Code != 1 {
		t.Errorf("at the exit event: diag %q exit %+v", e.diag, e.LastExit)
	}
}

func TestRun_RegionChanges(t *testing.T) {
	h := newHarness(t)
	h.writeRegion("EU868")
	h.start()
	first, next := h.wait("EU868", 0, h.running("EU868_A"))
	steps := []struct {
		name, plan, freq string
		write            func()
	}{
		{"atomic rename", "US915_SB2", `"freq": 904300000`, func() { h.writeRegion("region_us915\n") }},
		{"in-place write", "AU915_SB2", `"freq": 917200000`, func() {
			os.WriteFile(h.cfg.RegionFilePath, []byte("AU915"), 0o644)
		}},
		{"delete and recreate", "AS923_1A", `"freq": 923500000`, func() {
			os.Remove(h.cfg.RegionFilePath)
			os.WriteFile(h.cfg.RegionFilePath, []byte("as923_1\n"), 0o644)
		}},
	}
	pid := first.PID
	for _, s := range steps {
		s.write()
		var e event
		e, next = h.wait(s.name+" to "+s.plan, next, h.running(s.plan))
		if e.PID == pid || alive(pid) {
			t.Errorf("%s: the old forwarder %d was not replaced (new %d)", s.name, pid, e.PID)
		}
		if !strings.Contains(h.globalConf(), s.freq) {
			t.Errorf("%s: global_conf.json lacks %s", s.name, s.freq)
		}
		pid = e.PID
	}
	if h.last().Restarts != 0 {
		t.Errorf("region changes counted as restarts: %d", h.last().Restarts)
	}
}

func TestRun_GarbageRegionLeavesForwarderAlone(t *testing.T) {
	h := newHarness(t)
	h.cfg.RegionPollInterval = 100 * time.Millisecond
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("running", 0, h.running("EU868_A"))
	conf := h.globalConf()
	h.writeRegion("CN779")
	h.waitLog(logrus.WarnLevel, `"CN779"`, 1)
	h.writeRegion("garbage")
	h.waitLog(logrus.WarnLevel, `"garbage"`, 1)
	h.writeRegion("")
	h.waitLog(logrus.WarnLevel, "region is empty", 1)
	h.writeRegion(strings.Repeat("z", 3<<20))
	h.waitLog(logrus.WarnLevel, "over 4096 bytes", 1)
	h.writeRegion("CN779")
	h.waitLog(logrus.DebugLevel, `"CN779"`, 1) // seen again by a poll, not logged again
	if h.globalConf() != conf || h.last().PID != e.PID || !alive(e.PID) {
		t.Fatal("a bad region touched the running forwarder")
	}
	h.writeRegion("US915")
	e2, _ := h.wait("US915 after garbage", next, h.running("US915_SB2"))
	if n := h.logCount(`"CN779"`) - countLevel(h, logrus.DebugLevel, `"CN779"`); n != 1 {
		t.Errorf("CN779 logged %d times above debug, want once:\n%s", n, h.logText())
	}
	for _, ev := range h.snapshot() {
		if ev.PID != 0 && ev.PID != e.PID && ev.PID != e2.PID {
			t.Errorf("a forwarder %d ran on a bad region", ev.PID)
		}
	}
	if h.last().Restarts != 0 || !strings.Contains(h.globalConf(), "904300000") {
		t.Errorf("restarts %d; config not switched to US915", h.last().Restarts)
	}
}

func TestRun_WaitsForRegion(t *testing.T) {
	h := newHarness(t)
	h.cfg.RegionFilePath = filepath.Join(h.dir, "not-yet", "region")
	h.cfg.RegionPollInterval = 100 * time.Millisecond
	h.start()
	e, next := h.wait("waiting_for_region", 0, func(e event) bool { return e.State == supervisor.StateWaitingForRegion })
	if e.diag != "false" {
		t.Errorf("diagnostics %q while waiting", e.diag)
	}
	os.MkdirAll(filepath.Dir(h.cfg.RegionFilePath), 0o755)
	h.writeRegion("UNKNOWN")
	h.writeRegion("KR920")
	h.wait("running on KR920", next, h.running("KR920_A"))
}

func TestRun_Override(t *testing.T) {
	h := newHarness(t)
	h.cfg.RegionOverride = "region_in865"
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("IN865", 0, h.running("IN865_A"))
	if e.RegionSource != "REGION_OVERRIDE" {
		t.Errorf("source %q", e.RegionSource)
	}
}

func TestRun_SigtermDuringBackoffAndStart(t *testing.T) {
	t.Run("backoff", func(t *testing.T) {
		h := newHarness(t)
		h.cfg.LoraPktFwdAfterFailureSleepSeconds = 3600
		h.opt.MaxBackoff = time.Hour
		h.setMode("crash")
		h.writeRegion("EU868")
		h.start()
		h.wait("backoff", 0, func(e event) bool { return e.State == supervisor.StateBackoff })
		began := time.Now()
		if err := h.stop(); err != nil || time.Since(began) > 5*time.Second {
			t.Errorf("stop during back-off: %v after %s", err, time.Since(began))
		}
		if h.last().State != supervisor.StateStopped || h.last().diag != "false" {
			t.Errorf("after stop: %+v", h.last())
		}
	})
	t.Run("start", func(t *testing.T) {
		h := newHarness(t)
		h.cfg.LoraPktFwdBeforeCheckSleepSeconds = 3600
		h.writeRegion("EU868")
		h.start()
		e, _ := h.wait("a forwarder pid", 0, func(e event) bool { return e.PID != 0 })
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		if alive(e.PID) {
			t.Errorf("forwarder %d still alive after stop", e.PID)
		}
	})
}

func TestRun_IgnoringSigtermIsKilled(t *testing.T) {
	h := newHarness(t)
	h.opt.StopGrace = 300 * time.Millisecond
	h.setMode("ignore-term")
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("running", 0, h.running("EU868_A"))
	began := time.Now()
	h.stop()
	if alive(e.PID) || time.Since(began) < 300*time.Millisecond {
		t.Errorf("alive %v after %s", alive(e.PID), time.Since(began))
	}
}

func TestRun_MissingForwarderIsRetried(t *testing.T) {
	h := newHarness(t)
	os.Remove(h.cfg.SX1302Forwarder)
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("backoff", 0, func(e event) bool { return e.State == supervisor.StateBackoff && e.LastError != "" })
	if !strings.Contains(e.LastError, h.cfg.SX1302Forwarder) || !strings.Contains(e.LastError, "SX1302_LORA_PKT_FWD_FILEPATH") || e.diag != "false" {
		t.Errorf("last error %q diag %q", e.LastError, e.diag)
	}
	_, next = h.wait("a second try", next, func(e event) bool { return e.State == supervisor.StateStartingFwd })
	if n := h.logCount("does not exist"); n != 1 {
		t.Errorf("logged %d times", n)
	}
	os.Symlink(fakeForwarder, h.cfg.SX1302Forwarder)
	h.wait("running once the binary appears", next, h.running("EU868_A"))
}

func TestRun_ReloadRestarts(t *testing.T) {
	h := newHarness(t)
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("running", 0, h.running("EU868_A"))
	h.sup.Reload()
	e2, _ := h.wait("a new forwarder", next, func(x event) bool { return x.State == supervisor.StateRunning && x.PID != e.PID })
	if alive(e.PID) || e2.PID == 0 {
		t.Errorf("old %d alive %v, new %d", e.PID, alive(e.PID), e2.PID)
	}
}

func TestRun_BadOverlayKeepsLastGoodConfig(t *testing.T) {
	h := newHarness(t)
	h.cfg.SX1302RegionConfigsDir = filepath.Join(h.dir, "maker")
	os.MkdirAll(h.cfg.SX1302RegionConfigsDir, 0o755)
	os.WriteFile(filepath.Join(h.cfg.SX1302RegionConfigsDir, "global_conf.json.US915"), []byte("{\n\"SX130x_conf\": {,\n}"), 0o644)
	h.writeRegion("EU868")
	h.start()
	_, next := h.wait("running", 0, h.running("EU868_A"))
	good := h.globalConf()
	h.writeRegion("US915")
	e, _ := h.wait("the template error", next, func(e event) bool { return strings.Contains(e.LastError, "global_conf.json.US915") })
	if !strings.Contains(e.LastError, "line 2") || h.globalConf() != good {
		t.Errorf("error %q; config changed: %v", e.LastError, h.globalConf() != good)
	}
}

func countLevel(h *harness, level logrus.Level, s string) int {
	n := 0
	for _, e := range h.logs.AllEntries() {
		if e.Level == level && strings.Contains(e.Message, s) {
			n++
		}
	}
	return n
}

package supervisor_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// hungCommand writes a REGION_COMMAND that never answers and leaves a
// grandchild holding its stdout; both write their pids into dir.
func hungCommand(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "miner")
	body := "#!/bin/sh\nsleep 1000 & echo $! > " + filepath.Join(dir, "grandchild.pid") + "\necho $$ > " + filepath.Join(dir, "leader.pid") + "\nwait\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// A REGION_COMMAND that hangs (above the file in precedence) never freezes
// the file source: a change of the region file still moves the forwarder.
func TestCommandSource_HungCommandDoesNotFreezeTheFile(t *testing.T) {
	h := newHarness(t)
	h.cfg.RegionCommand = hungCommand(t, h.dir)
	h.cfg.RegionCommandTimeoutSeconds = 600
	h.writeRegion("EU868")
	h.start()
	_, next := h.wait("EU868 from the file", 0, h.running("EU868_A"))
	leader := supervisor.PIDFromFile(t, filepath.Join(h.dir, "leader.pid"))
	h.writeRegion("US915")
	e, _ := h.wait("US915 from the file", next, h.running("US915_SB2"))
	if e.RegionSource != "file "+h.cfg.RegionFilePath {
		t.Errorf("source %q", e.RegionSource)
	}
	if !alive(leader) {
		t.Error("the command was not hanging during the test")
	}
}

// SIGTERM while REGION_COMMAND hangs with a grandchild holding its output:
// Run returns within the stop timeout plus one second, and the command's
// whole process group is dead.
func TestCommandSource_HungCommandDoesNotDelayStop(t *testing.T) {
	h := newHarness(t)
	h.cfg.RegionCommand = hungCommand(t, h.dir)
	h.cfg.RegionCommandTimeoutSeconds = 600
	h.writeRegion("EU868")
	h.start()
	h.wait("EU868 from the file", 0, h.running("EU868_A"))
	leader := supervisor.PIDFromFile(t, filepath.Join(h.dir, "leader.pid"))
	grandchild := supervisor.PIDFromFile(t, filepath.Join(h.dir, "grandchild.pid"))
	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- h.stop() }()
	select {
	case <-done:
	case <-time.After(h.opt.StopGrace + time.Second):
		t.Fatalf("Run did not return within the stop timeout (%s) plus one second of cancel", h.opt.StopGrace)
	}
	took := time.Since(began)
	for name, pid := range map[string]int{"command": leader, "grandchild": grandchild} {
		if !diesWithin(pid, time.Second) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the %s (%d) outlived the supervisor", name, pid)
		}
	}
	if n := liveGroupMembers(leader); n != 0 {
		t.Errorf("process group %d still has %d live members", leader, n)
	}
	t.Logf("cancel → Run returned in %s with REGION_COMMAND hung", took)
}

// liveGroupMembers counts the processes of group pgid that are not zombies.
func liveGroupMembers(pgid int) int {
	n := 0
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, _ := os.ReadFile(p)
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state, ppid, pgrp, …
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			n++
		}
	}
	return n
}

// A command that never answers is killed at REGION_COMMAND_TIMEOUT_SECONDS
// and says so in the log, once; the file below it still rules.
func TestCommandSource_TimeoutIsLogged(t *testing.T) {
	h := newHarness(t)
	h.cfg.RegionCommand = hungCommand(t, h.dir)
	h.cfg.RegionCommandTimeoutSeconds = 0.2
	h.cfg.RegionPollInterval = 50 * time.Millisecond
	h.writeRegion("EU868")
	h.start()
	h.wait("EU868 from the file", 0, h.running("EU868_A"))
	h.waitLog(logrus.WarnLevel, "did not finish within 200ms (REGION_COMMAND_TIMEOUT_SECONDS)", 1)
	h.waitLog(logrus.DebugLevel, "did not finish within 200ms", 1) // the next run: not logged again
	if n := countLevel(h, logrus.WarnLevel, "did not finish"); n != 1 {
		t.Errorf("logged %d times as a warning", n)
	}
}

// REGION_OVERRIDE is in force: the region file's absence is no news, so
// the log never says "no region yet" (issue 13).
func TestOverride_NoRegionYetIsNotLogged(t *testing.T) {
	h := newHarness(t)
	h.cfg.RegionOverride = "EU868"
	h.cfg.RegionPollInterval = 20 * time.Millisecond
	h.start()
	h.wait("EU868 from REGION_OVERRIDE", 0, h.running("EU868_A"))
	h.waitLog(logrus.DebugLevel, "does not exist yet", 3) // the file source was asked, more than once
	h.writeRegion("UNKNOWN")                              // a miner with no region asserted
	h.waitLog(logrus.DebugLevel, "not asserted", 1)
	for _, e := range h.logs.AllEntries() {
		if e.Level <= logrus.InfoLevel && (strings.Contains(e.Message, "no region yet") || strings.Contains(e.Message, "does not exist yet") || strings.Contains(e.Message, "not asserted")) {
			t.Errorf("%s: %s", e.Level, e.Message)
		}
	}
}

// Without a region in force the missing file is still news.
func TestFileSource_NoRegionYetIsLoggedWithoutOverride(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.waitLog(logrus.InfoLevel, "no region yet", 1)
}

// The region file as a symlink to /dev/zero or a file over the limit is an
// error naming the path; the forwarder keeps its region.
func TestFileSource_DevZeroAndOversize(t *testing.T) {
	for name, tc := range map[string]struct {
		do  func(path string) error
		log string
	}{
		"symlink to /dev/zero": {func(p string) error { os.Remove(p); return os.Symlink("/dev/zero", p) }, "is a character device: not a regular file"},
		"oversize":             {func(p string) error { return os.WriteFile(p, []byte(strings.Repeat("EU868\n", 1000)), 0o644) }, "holds over 4096 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.writeRegion("EU868")
			h.start()
			e, _ := h.wait("running", 0, h.running("EU868_A"))
			if err := tc.do(h.cfg.RegionFilePath); err != nil {
				t.Fatal(err)
			}
			h.waitLog(logrus.WarnLevel, h.cfg.RegionFilePath+" "+tc.log, 1)
			if last := h.last(); last.Region != "EU868_A" || last.PID != e.PID || !alive(e.PID) {
				t.Errorf("the forwarder was moved: %+v", last.Status)
			}
		})
	}
}

// A maker's template that is a FIFO, a directory or too large is an error
// naming it — never a hang — and the last good config stays.
func TestTemplate_ReadSafely(t *testing.T) {
	for name, tc := range map[string]struct {
		make func(path string) error
		want string
	}{
		"fifo":      {func(p string) error { return syscall.Mkfifo(p, 0o644) }, "is a named pipe (FIFO): not a regular file"},
		"directory": {func(p string) error { return os.Mkdir(p, 0o755) }, "is a directory: not a regular file"},
		"oversize":  {func(p string) error { return os.WriteFile(p, make([]byte, 2<<20), 0o644) }, "holds over 1048576 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.SX1302RegionConfigsDir = filepath.Join(h.dir, "maker")
			os.MkdirAll(h.cfg.SX1302RegionConfigsDir, 0o755)
			tmpl := filepath.Join(h.cfg.SX1302RegionConfigsDir, "global_conf.json.US915")
			if err := tc.make(tmpl); err != nil {
				t.Fatal(err)
			}
			h.writeRegion("EU868")
			h.start()
			_, next := h.wait("running", 0, h.running("EU868_A"))
			good := h.globalConf()
			h.writeRegion("US915")
			e, _ := h.wait("the template error", next, func(e event) bool { return strings.Contains(e.LastError, tmpl) })
			if !strings.Contains(e.LastError, tc.want) || h.globalConf() != good {
				t.Errorf("error %q; config changed: %v", e.LastError, h.globalConf() != good)
			}
		})
	}
}

// A maker's template named after the region as given (EU868) serves the
// plan (EU868_A), and a symlink to a regular template is fine.
func TestTemplate_FoundByEitherNameThroughASymlink(t *testing.T) {
	h := newHarness(t)
	h.cfg.SX1302RegionConfigsDir = filepath.Join(h.dir, "maker")
	os.MkdirAll(h.cfg.SX1302RegionConfigsDir, 0o755)
	real := filepath.Join(h.dir, "eu868.json")
	os.WriteFile(real, []byte(`{"SX130x_conf": {"radio_0": {"rssi_offset": -210.1}}, "gateway_conf": {}}`), 0o644)
	os.Symlink(real, filepath.Join(h.cfg.SX1302RegionConfigsDir, "global_conf.json.EU868"))
	h.writeRegion("EU868")
	h.start()
	h.wait("running", 0, h.running("EU868_A"))
	if !strings.Contains(h.globalConf(), "-210.1") {
		t.Errorf("the maker's template was not used:\n%s", h.globalConf())
	}
}

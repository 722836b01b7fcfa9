package supervisor_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

// Each test names what it injects and checks what a fleet would see:
// diagnostics, status, restarts, exit code, files intact.

func TestFault_MegabytesOfOutput(t *testing.T) {
	h := newHarness(t)
	h.setMode("flood:3000000") // 3 MB of log lines before starting
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("running after the flood", 0, h.running("EU868_A"))
	h.waitLog(logrus.InfoLevel, "concentrator started", 1) // every line is read, in order
	if e.diag != "true" || !alive(e.PID) {
		t.Errorf("diag %q, forwarder alive %v", e.diag, alive(e.PID))
	}
}

func TestFault_OutputWithoutNewlines(t *testing.T) {
	h := newHarness(t)
	h.setMode("nonewline:100000")
	h.writeRegion("EU868")
	h.start()
	h.wait("running", 0, h.running("EU868_A"))
	longest := 0
	for _, e := range h.logs.AllEntries() {
		longest = max(longest, len(e.Message))
	}
	if longest > 4096 {
		t.Errorf("a log entry of %d bytes; lines are split at 4096", longest)
	}
}

func TestFault_GrandchildOutlivingTheForwarder(t *testing.T) {
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 3600
	h.opt.MaxBackoff = time.Hour
	h.setMode("grandchild")
	h.writeRegion("EU868")
	h.start()
	h.wait("the exit", 0, func(e event) bool { return e.LastExit != nil })
	// The status says exited first; the forwarder's last lines are logged
	// once its output is drained.
	h.waitLog(logrus.InfoLevel, "started a grandchild", 1)
	m := regexp.MustCompile(`grandchild, pid (\d+)`).FindStringSubmatch(h.logText())
	if m == nil {
		t.Fatalf("no grandchild pid in the log:\n%s", h.logText())
	}
	pid, _ := strconv.Atoi(m[1])
	if !diesWithin(pid, 5*time.Second) {
		t.Errorf("grandchild %d outlived the forwarder's exit", pid)
	}
}

func TestFault_RegionFileGoesBad(t *testing.T) {
	for _, tc := range []struct {
		inject string
		do     func(path string) error
		log    string
	}{
		{"deleted", os.Remove, "does not exist"},
		{"replaced by a directory", func(p string) error { os.Remove(p); return os.Mkdir(p, 0o755) }, "not a regular file"},
		{"replaced by a FIFO", func(p string) error { os.Remove(p); return syscall.Mkfifo(p, 0o644) }, "not a regular file"},
		{"made unreadable", func(p string) error {
			if os.Geteuid() == 0 {
				return errSkip
			}
			return os.Chmod(p, 0)
		}, "unreadable"},
	} {
		t.Run(tc.inject, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.RegionPollInterval = 20 * time.Millisecond
			h.writeRegion("EU868")
			h.start()
			e, _ := h.wait("running", 0, h.running("EU868_A"))
			if err := tc.do(h.cfg.RegionFilePath); err == errSkip {
				t.Skip("root reads a file without permissions")
			} else if err != nil {
				t.Fatal(err)
			}
			level := logrus.WarnLevel
			if tc.inject == "deleted" {
				level = logrus.InfoLevel
			}
			h.waitLog(level, tc.log, 1)
			h.waitLog(logrus.DebugLevel, tc.log, 2) // polled twice more
			if last := h.last(); last.PID != e.PID || !alive(e.PID) || last.diag != "true" {
				t.Errorf("the running forwarder was disturbed: %+v", last)
			}
			if n := h.logCount(tc.log) - countLevel(h, logrus.DebugLevel, tc.log); n != 1 {
				t.Errorf("logged %d times above debug", n)
			}
		})
	}
}

var errSkip = io.EOF

// mountTmpfs mounts a small tmpfs, or skips where the machine does not allow it.
func mountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

func TestFault_RootDirMissingIsCreated(t *testing.T) {
	h := newHarness(t)
	h.cfg.RootDir = filepath.Join(h.dir, "not", "yet", "opt")
	h.cfg.DiagnosticsFilePath = filepath.Join(h.dir, "nor", "this", "diagnostics")
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("running", 0, h.running("EU868_A"))
	if e.diag != "true" {
		t.Errorf("diag %q", e.diag)
	}
}

func TestFault_RootDirReadOnly(t *testing.T) {
	h := newHarness(t)
	mountTmpfs(t, h.cfg.RootDir, "size=1m")
	if err := syscall.Mount("", h.cfg.RootDir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skip(err)
	}
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("the error", 0, func(e event) bool { return strings.Contains(e.LastError, "ROOT_DIR") })
	if e.diag != "false" || e.State != supervisor.StateBackoff && e.State != supervisor.StateStartingFwd {
		t.Errorf("with a read-only ROOT_DIR: %+v", e)
	}
	syscall.Mount("", h.cfg.RootDir, "", syscall.MS_REMOUNT, "")
	h.wait("running once writable", next, h.running("EU868_A"))
}

func TestFault_DiagnosticsFolderReadOnly(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.dir, "ro")
	mountTmpfs(t, dir, "size=64k")
	syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
	h.cfg.DiagnosticsFilePath = filepath.Join(dir, "diagnostics")
	h.writeRegion("EU868")
	h.start()
	h.wait("running all the same", 0, h.running("EU868_A"))
	if n := h.logCount("cannot write the diagnostics file"); n != 1 {
		t.Errorf("logged %d times:\n%s", n, h.logText())
	}
}

// Make before break: a region change whose config cannot be written (disk
// full) leaves the running forwarder on the old plan, says so, and is
// retried until it goes through.
func TestFault_DiskFullKeepsLastGoodConfig(t *testing.T) {
	h := newHarness(t)
	mountTmpfs(t, h.cfg.RootDir, "size=64k")
	h.writeRegion("EU868")
	h.start()
	running, next := h.wait("running", 0, h.running("EU868_A"))
	good := h.globalConf()
	filler := filepath.Join(h.cfg.RootDir, "filler")
	f, _ := os.Create(filler)
	f.Write(make([]byte, 1<<20)) // fills the tmpfs
	f.Close()
	h.writeRegion("US915")
	e, next := h.wait("the write error", next, func(e event) bool { return strings.Contains(e.LastError, "disk full") })
	if h.globalConf() != good {
		t.Error("global_conf.json changed")
	}
	if e.diag != "true" || e.State != supervisor.StateRunning || e.PID != running.PID || !alive(running.PID) || e.Region != "EU868_A" {
		t.Errorf("the old forwarder should keep running on EU868_A: %+v diag %q alive %v", e.Status, e.diag, alive(running.PID))
	}
	if !strings.Contains(e.LastError, "still running EU868_A") || !strings.Contains(e.LastError, "US915_SB2") {
		t.Errorf("last error %q does not say what runs and what failed", e.LastError)
	}
	if tmp, _ := filepath.Glob(filepath.Join(h.cfg.RootDir, ".*tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	os.Remove(filler)
	e, _ = h.wait("US915 once there is room", next, h.running("US915_SB2"))
	if alive(running.PID) || e.PID == running.PID {
		t.Errorf("the EU868 forwarder %d was not replaced", running.PID)
	}
	if n := h.logCount("cannot switch to US915_SB2"); n != 1 {
		t.Errorf("the failed switch was logged %d times, want once:\n%s", n, h.logText())
	}
}

// A region change that writes its config but then cannot start a forwarder
// leaves diagnostics false and no stale pid.
func TestFault_RestartAfterChangeFails(t *testing.T) {
	h := newHarness(t)
	h.writeRegion("EU868")
	h.start()
	running, next := h.wait("running", 0, h.running("EU868_A"))
	os.Remove(h.cfg.SX1302Forwarder)
	h.writeRegion("US915")
	e, _ := h.wait("the failed start", next, func(e event) bool { return strings.Contains(e.LastError, "does not exist") })
	if e.diag != "false" || e.PID != 0 || alive(running.PID) {
		t.Errorf("after a failed start: diag %q pid %d, old forwarder alive %v", e.diag, e.PID, alive(running.PID))
	}
	st := statusOnDisk(t, h)
	if _, ok := st["pid"]; ok {
		t.Errorf("status.json shows a pid after a failed start: %v", st)
	}
}

// SIGTERM (a cancelled context) in every state ends Run promptly with the
// forwarder gone, diagnostics false and the status stopped.
func TestFault_SigtermInEveryState(t *testing.T) {
	for _, tc := range []struct {
		state supervisor.State
		setup func(h *harness)
	}{
		{supervisor.StateStarting, func(h *harness) { h.cfg.AwaitSystemSleepSeconds = 3600 }},
		{supervisor.StateWaitingForSPI, func(h *harness) {
			h.opt.OpenSPI = func() (spi.Conn, io.Closer, error) { return nil, nil, os.ErrNotExist }
		}},
		{supervisor.StateWaitingForRegion, func(h *harness) { os.Remove(h.cfg.RegionFilePath) }},
		{supervisor.StateStartingFwd, func(h *harness) { h.cfg.LoraPktFwdBeforeCheckSleepSeconds = 3600 }},
		{supervisor.StateRunning, func(h *harness) {}},
		{supervisor.StateBackoff, func(h *harness) {
			h.setMode("crash")
			h.cfg.LoraPktFwdAfterFailureSleepSeconds = 3600
			h.opt.MaxBackoff = time.Hour
		}},
		{supervisor.StateStopping, func(h *harness) {
			h.setMode("ignore-term")
			h.opt.StopGrace = time.Second
		}},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			h := newHarness(t)
			h.writeRegion("EU868")
			tc.setup(h)
			h.start()
			if tc.state == supervisor.StateStopping {
				h.wait("running", 0, h.running("EU868_A"))
				h.writeRegion("US915")
			}
			e, _ := h.wait(string(tc.state), 0, func(e event) bool { return e.State == tc.state })
			began := time.Now()
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(began); d > 10*time.Second {
				t.Errorf("Run took %s to return", d)
			}
			last := h.last()
			if last.State != supervisor.StateStopped || last.diag != "false" || e.PID != 0 && alive(e.PID) {
				t.Errorf("after SIGTERM in %s: %+v, forwarder alive %v", tc.state, last, alive(e.PID))
			}
		})
	}
}

// diesWithin waits for a process that is not our child to end, through a
// pidfd, which becomes readable when it does (a kill is asynchronous).
func diesWithin(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err == unix.ESRCH // already gone
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(d.Milliseconds()))
	return err == nil && n == 1 || !alive(pid)
}

// A FIFO left where global_conf.json goes is replaced, never read (a read
// would block the supervisor for ever).
func TestFault_FIFOInPlaceOfTheConfig(t *testing.T) {
	h := newHarness(t)
	if err := syscall.Mkfifo(filepath.Join(h.cfg.RootDir, "global_conf.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.writeRegion("EU868")
	h.start()
	h.wait("running", 0, h.running("EU868_A"))
	if st, err := os.Stat(filepath.Join(h.cfg.RootDir, "global_conf.json")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("global_conf.json not replaced by a regular file: %v", err)
	}
}

// A fleet that sets no SERVER_* keeps sending where hm-pktfwd sent,
// multiplexer:1681, where that name resolves; an explicit setting wins. A
// name is written as the address it resolves to (the image's static
// forwarders need no lookup of their own, docs/image.md).
func TestRun_HmPktfwdServerWhenUnset(t *testing.T) {
	resolves := func(context.Context, string) ([]string, error) { return []string{"172.17.0.5"}, nil }
	for _, tc := range []struct {
		name   string
		auto   bool
		lookup func(context.Context, string) ([]string, error)
		want   string
	}{
		{"unset, multiplexer resolves", true, resolves, `"server_address": "172.17.0.5",
        "serv_port_up": 1681,
        "serv_port_down": 1681`},
		{"unset, no multiplexer", true, func(context.Context, string) ([]string, error) { return nil, errors.New("no such host") }, `"server_address": "127.0.0.1",
        "serv_port_up": 1680`},
		{"SERVER_ADDRESS set", false, resolves, `"server_address": "127.0.0.1",
        "serv_port_up": 1680`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.ServerPortUp, h.cfg.ServerPortDown = 1680, 1680 // the defaults the expectations name
			h.cfg.ServerAuto = tc.auto
			h.opt.LookupHost = tc.lookup
			h.writeRegion("EU868")
			h.start()
			// The simulated forwarder, like the real one, exits when
			// "multiplexer" does not resolve for it: wait for its start only.
			h.wait("a forwarder start", 0, func(e event) bool { return e.PID != 0 && e.Region == "EU868_A" })
			if g := h.globalConf(); !strings.Contains(g, tc.want) {
				t.Errorf("global_conf.json lacks %s:\n%s", tc.want, g)
			}
		})
	}
}

// SERVER_ADDRESS as a host name is written into global_conf.json as its
// IPv4 address; a name that does not resolve is written as it is.
func TestRun_ServerNameWrittenAsAddress(t *testing.T) {
	for _, tc := range []struct {
		name, addr, want string
		reached          func(event) bool
	}{
		{"resolves", "helium-miner", `"server_address": "172.18.0.3"`, nil},
		// the forwarder fails naming it, as the real ones do, so it never runs
		{"does not resolve", "nowhere", `"server_address": "nowhere"`, func(e event) bool { return strings.Contains(e.LastError, "nowhere does not resolve") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.ServerAddress = tc.addr
			h.opt.LookupHost = func(_ context.Context, host string) ([]string, error) {
				if host != "helium-miner" {
					return nil, errors.New("no such host")
				}
				return []string{"fd00::5", "172.18.0.3"}, nil
			}
			h.writeRegion("EU868")
			h.start()
			if tc.reached == nil {
				tc.reached = h.running("EU868_A")
			}
			h.wait(tc.name, 0, tc.reached)
			if g := h.globalConf(); !strings.Contains(g, tc.want) {
				t.Errorf("global_conf.json lacks %s:\n%s", tc.want, g)
			}
		})
	}
}

// SIGTERM while a SIGHUP is stopping a forwarder that ignores SIGTERM ends
// the supervisor once that stop is over: no new forwarder is started (it
// would have to be stopped again, doubling the time SIGTERM takes). A USB
// concentrator has no reset line whose request would notice the shutdown.
func TestFault_SigtermWhileReloadStops(t *testing.T) {
	h := newHarness(t)
	h.cfg.ConcentratorInterface, h.cfg.USBDevice, h.cfg.Chip = "usb", os.DevNull, "sx1302"
	h.opt.Lines = &concentrator.Lines{}
	h.opt.StopGrace = time.Second
	h.setMode("ignore-term")
	h.writeRegion("EU868")
	h.start()
	_, next := h.wait("running", 0, h.running("EU868_A"))
	h.sup.Reload()
	h.wait("stopping", next, func(e event) bool { return e.State == supervisor.StateStopping })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := h.logCount("started " + h.cfg.SX1302Forwarder); n != 1 {
		t.Errorf("%d forwarders started, want 1 (none after SIGTERM); log:\n%s", n, h.logText())
	}
}

// A FIFO in place of the forwarder binary is refused; opening it to check
// the build would block the supervisor, and SIGTERM with it, for ever.
func TestFault_FIFOInPlaceOfTheForwarder(t *testing.T) {
	h := newHarness(t)
	h.cfg.ConcentratorInterface, h.cfg.USBDevice, h.cfg.Chip = "usb", os.DevNull, "sx1302"
	os.Remove(h.cfg.SX1302Forwarder)
	if err := syscall.Mkfifo(h.cfg.SX1302Forwarder, 0o755); err != nil {
		t.Fatal(err)
	}
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("backoff", 0, func(e event) bool { return e.State == supervisor.StateBackoff })
	if !strings.Contains(e.LastError, "not a regular file") {
		t.Errorf("last error %q", e.LastError)
	}
}

// A FIFO put in place of the diagnostics file is replaced by the next
// refresh, never read: a read would block the refresh, and with it every
// status write and SIGTERM, for ever.
func TestFault_FIFOInPlaceOfDiagnostics(t *testing.T) {
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterSuccessSleepSeconds = 0.05
	h.writeRegion("EU868")
	h.start()
	h.wait("running", 0, h.running("EU868_A"))
	os.Remove(h.cfg.DiagnosticsFilePath)
	if err := syscall.Mkfifo(h.cfg.DiagnosticsFilePath, 0o644); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	next := h.base + len(h.events) // the events from here on came after the FIFO
	h.mu.Unlock()
	h.wait("diagnostics healed", next, func(e event) bool { return e.diag == "true" })
}

// When writing diagnostics false fails, the file is never left saying
// true: the supervisor keeps trying to write false, and does not "heal"
// the file back to true once it can write again.
func TestFault_FailedDiagnosticsWriteIsRetried(t *testing.T) {
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterSuccessSleepSeconds = 0.05
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 3600
	h.opt.MaxBackoff = time.Hour
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("running", 0, h.running("EU868_A"))
	// A non-empty directory in its place: every write fails.
	os.Remove(h.cfg.DiagnosticsFilePath)
	if err := os.MkdirAll(filepath.Join(h.cfg.DiagnosticsFilePath, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.setMode("crash")
	syscall.Kill(e.PID, syscall.SIGKILL)
	_, next = h.wait("backoff", next, func(e event) bool { return e.State == supervisor.StateBackoff })
	os.RemoveAll(h.cfg.DiagnosticsFilePath)
	h.wait("diagnostics false", next, func(e event) bool {
		if e.diag == "true" {
			t.Fatalf("diagnostics true in %s with the forwarder dead", e.State)
		}
		return e.diag == "false"
	})
}

// status.json that cannot be written (disk full) while no forwarder runs
// is removed rather than left saying running with a dead pid; it comes
// back once it can be written.
func TestFault_UnwritableStatusNeverClaimsRunning(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.dir, "status")
	mountTmpfs(t, dir, "size=64k")
	h.cfg.StatusFilePath = filepath.Join(dir, "status.json")
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 3600
	h.opt.MaxBackoff = time.Hour
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("running", 0, h.running("EU868_A"))
	filler := filepath.Join(dir, "filler")
	f, _ := os.Create(filler)
	f.Write(make([]byte, 1<<20)) // fills the tmpfs
	f.Close()
	h.setMode("crash")
	syscall.Kill(e.PID, syscall.SIGKILL)
	_, next = h.wait("backoff", next, func(e event) bool { return e.State == supervisor.StateBackoff })
	if b, err := os.ReadFile(h.cfg.StatusFilePath); err == nil && strings.Contains(string(b), `"running"`) {
		t.Errorf("status.json says running with the forwarder dead and the disk full:\n%s", b)
	}
	os.Remove(filler)
	h.sup.Reload() // any status write now puts it back
	h.wait("status.json back", next, func(event) bool {
		b, err := os.ReadFile(h.cfg.StatusFilePath)
		return err == nil && !strings.Contains(string(b), `"running"`)
	})
}

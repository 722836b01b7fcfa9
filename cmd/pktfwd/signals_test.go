package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"pktfwd/supervisor"
)

// The real process and real signals: SIGHUP restarts the forwarder,
// SIGTERM stops it, writes diagnostics false and exits 0; a configuration
// error exits 2.
func TestSignals_HupRestartsTermExitsZero(t *testing.T) {
	self, _ := os.Executable()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sx1302"), 0o755)
	os.Symlink(self, filepath.Join(dir, "sx1302", "lora_pkt_fwd"))
	cfg := demoConfig(dir)
	writeRegion(cfg.RegionFilePath, "EU868")
	cmd := exec.Command(self)
	cmd.Env = append(pktfwdEnv(cfg), "PKTFWD_TEST_AS_PKTFWD=1", "PKTFWD_SIMULATED_FORWARDER=1",
		"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS=0.1", "LOGLEVEL=warning")
	w, _ := fsnotify.NewWatcher()
	defer w.Close()
	w.Add(filepath.Dir(cfg.StatusFilePath))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	status := func() supervisor.Status {
		var s supervisor.Status
		b, _ := os.ReadFile(cfg.StatusFilePath)
		json.Unmarshal(b, &s)
		return s
	}
	waitFor := func(what string, ok func(supervisor.Status) bool) supervisor.Status {
		deadline := time.After(20 * time.Second)
		for {
			if s := status(); ok(s) {
				return s
			}
			select {
			case <-w.Events:
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("timed out waiting for %s: %+v", what, status())
			}
		}
	}
	first := waitFor("running", func(s supervisor.Status) bool { return s.State == supervisor.StateRunning })
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("a restart after SIGHUP", func(s supervisor.Status) bool { return s.State == supervisor.StateRunning && s.PID != first.PID })
	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if err != nil || cmd.ProcessState.ExitCode() != 0 || time.Since(began) > 10*time.Second {
		t.Errorf("after SIGTERM: %v, exit code %d, %s", err, cmd.ProcessState.ExitCode(), time.Since(began))
	}
	if d, _ := os.ReadFile(cfg.DiagnosticsFilePath); string(d) != "false" || status().State != supervisor.StateStopped {
		t.Errorf("diagnostics %q, state %s", d, status().State)
	}

	bad := exec.Command(self)
	bad.Env = append(os.Environ(), "PKTFWD_TEST_AS_PKTFWD=1", "VARIANT=nope", "REGION_POLL_INTERVAL=soon",
		"DIAGNOSTICS_FILEPATH="+cfg.DiagnosticsFilePath, "STATUS_FILEPATH="+cfg.StatusFilePath) // it writes false there
	out, _ := bad.CombinedOutput()
	if bad.ProcessState.ExitCode() != 2 {
		t.Errorf("a configuration error exited %d:\n%s", bad.ProcessState.ExitCode(), out)
	}
}

// pktfwdEnv is the environment that runs pktfwd on cfg's files with a
// CHIP setting (no probe), no reset lines, and /dev/null standing for a
// USB concentrator (the device must exist).
func pktfwdEnv(cfg supervisor.Config) []string {
	return append(os.Environ(), "CHIP=sx1302", "CONCENTRATOR_INTERFACE=usb", "USB_DEVICE=/dev/null", "GATEWAY_EUI=AA555A0000000004",
		"ROOT_DIR="+cfg.RootDir, "REGION_FILEPATH="+cfg.RegionFilePath, "DIAGNOSTICS_FILEPATH="+cfg.DiagnosticsFilePath,
		"STATUS_FILEPATH="+cfg.StatusFilePath, "SX1302_LORA_PKT_FWD_FILEPATH="+cfg.SX1302Forwarder, "AWAIT_SYSTEM_SLEEP_SECONDS=0")
}

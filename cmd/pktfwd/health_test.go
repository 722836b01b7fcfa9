package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pktfwd/supervisor"
)

// pktfwdHealth runs this test binary as `pktfwd health` on a status file.
func pktfwdHealth(t *testing.T, st *supervisor.Status) (code int, out string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "status.json")
	if st != nil {
		b, _ := json.Marshal(st)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "health")
	cmd.Env = append(os.Environ(), "PKTFWD_TEST_AS_PKTFWD=1", "STATUS_FILEPATH="+path, "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=30")
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(b)
}

func TestHealthCommand(t *testing.T) {
	now := time.Now().UTC()
	started := now.Add(-time.Minute)
	running := func() *supervisor.Status {
		return &supervisor.Status{State: supervisor.StateRunning, PID: os.Getpid(), Region: "EU868_A", StartedAt: &started, UpdatedAt: now,
			Radio: &supervisor.RadioStats{StatIntervalSecs: 30, LastBlockAt: &now, Watchdog: supervisor.WatchdogStatus{Verdict: "ok"}}}
	}
	if code, out := pktfwdHealth(t, running()); code != 0 || !strings.HasPrefix(out, "healthy: forwarder pid") {
		t.Errorf("healthy status: exit %d, %q", code, out)
	}
	stalled := running()
	stalled.Radio.Watchdog = supervisor.WatchdogStatus{Verdict: supervisor.RuleStalled, Reason: "no statistics block for 1m15s"}
	backoff := running()
	backoff.State = supervisor.StateBackoff
	for name, tc := range map[string]struct {
		st   *supervisor.Status
		want string
	}{
		"no file":     {nil, "pktfwd: unhealthy: cannot read the status file (STATUS_FILEPATH)"},
		"verdict":     {stalled, "pktfwd: unhealthy: watchdog: stalled: no statistics block for 1m15s\n"},
		"not running": {backoff, "pktfwd: unhealthy: the forwarder is not running (state backoff)\n"},
	} {
		code, out := pktfwdHealth(t, tc.st)
		if code != 1 || !strings.HasPrefix(out, tc.want) || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: exit %d, %q; want exit 1 and one line starting %q", name, code, out, tc.want)
		}
	}
}

func TestLoadConfig_WatchdogSwitch(t *testing.T) {
	t.Setenv("VARIANT", "COMP-RAKHM")
	c, _, err := loadConfig(environ())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Watchdog || c.WatchdogNoAckSeconds != 300 || c.WatchdogNoRxSeconds != 0 || c.MetricsAddr != "" {
		t.Errorf("defaults: watchdog %v, no-ack %v, no-rx %v, metrics %q; want on, 300, 0 (off), off", c.Watchdog, c.WatchdogNoAckSeconds, c.WatchdogNoRxSeconds, c.MetricsAddr)
	}
	t.Setenv("WATCHDOG", "false")
	if c, _, err = loadConfig(environ()); err != nil || c.Watchdog {
		t.Errorf("WATCHDOG=false: watchdog %v, %v; want off (false means off for a switch, not unset)", c.Watchdog, err)
	}
	t.Setenv("METRICS_ADDR", "9102")
	t.Setenv("WATCHDOG_NO_ACK_SECONDS", "-1")
	_, _, err = loadConfig(environ())
	for _, want := range []string{`METRICS_ADDR="9102"`, `WATCHDOG_NO_ACK_SECONDS="-1"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

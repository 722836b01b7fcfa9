package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pktfwd/supervisor"
)

// pktfwdHealth runs this test binary as `pktfwd health` on a status file.
func pktfwdHealth(t *testing.T, st *supervisor.Status, args ...string) (code int, out string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "status.json")
	if st != nil {
		b, _ := json.Marshal(st)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return pktfwdHealthOn(t, path, args...)
}

// pktfwdHealthOn runs `pktfwd health args...` with STATUS_FILEPATH path.
func pktfwdHealthOn(t *testing.T, path string, args ...string) (code int, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hanging read must fail the test
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"health"}, args...)...)
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

// A dead pktfwd (docker kill) leaves "running" behind; the upstream is
// judged only with --upstreams.
func TestHealthCommand_staleAndUpstreams(t *testing.T) {
	now := time.Now().UTC()
	age := func(s float64) *float64 { return &s }
	st := &supervisor.Status{State: supervisor.StateRunning, PID: os.Getpid(), Region: "EU868_A", UpdatedAt: now.Add(-61 * time.Second),
		Radio: &supervisor.RadioStats{StatIntervalSecs: 30, LastBlockAgeSecs: age(1), Watchdog: supervisor.WatchdogStatus{Verdict: "ok"}}}
	if code, out := pktfwdHealth(t, st); code != 1 || !strings.Contains(out, "status.json was last written 1m1s ago") {
		t.Errorf("status two refresh intervals old: exit %d, %q", code, out)
	}
	st.UpdatedAt = now
	st.Radio.Upstream = supervisor.UpstreamStatus{State: "lost", Reason: "no answer"}
	if code, out := pktfwdHealth(t, st); code != 0 || !strings.Contains(out, "upstream lost") {
		t.Errorf("upstream lost, plain health: exit %d, %q; want healthy, saying so", code, out)
	}
	if code, out := pktfwdHealth(t, st, "--upstreams"); code != 1 || !strings.Contains(out, "unhealthy: upstream lost: no answer") {
		t.Errorf("upstream lost, --upstreams: exit %d, %q", code, out)
	}
}

// status.json replaced by a FIFO or a symlink to /dev/zero fails at once:
// no hang, no read without end.
func TestHealthCommand_hostileStatusFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, zero} {
		start := time.Now()
		code, out := pktfwdHealthOn(t, path)
		if code != 1 || !strings.Contains(out, "not a regular file") || time.Since(start) > 5*time.Second {
			t.Errorf("%s: exit %d after %s, %q; want a quick failure naming it", path, code, time.Since(start), out)
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

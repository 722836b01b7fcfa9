package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// script writes an executable shell script into a temporary directory and
// returns its path and the directory (where it may leave pid files).
func script(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "cmd")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// region runs the command source once, failing the test if it does not
// return within limit.
func region(t *testing.T, ctx context.Context, c commandSource, limit time.Duration) (string, time.Duration, error) {
	t.Helper()
	type result struct {
		name string
		err  error
	}
	done := make(chan result, 1)
	began := time.Now()
	go func() {
		name, _, err := c.Region(ctx)
		done <- result{name, err}
	}()
	select {
	case r := <-done:
		return r.name, time.Since(began), r.err
	case <-time.After(limit):
		t.Fatalf("%s did not return within %s", c.Name(), limit)
		return "", 0, nil
	}
}

// pidFile waits for a pid the script writes.
func pidFile(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s: %v", path, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// gone reports whether pid has exited (a zombie has) within a second.
func gone(pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH)
	}
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 1000)
	return err == nil && n == 1
}

// A command that hangs while a grandchild holds its stdout: at the timeout
// the whole group dies and Region returns, naming the timeout.
func TestCommandSource_TimeoutKillsTheGroupAndItsGrandchild(t *testing.T) {
	path, dir := script(t, `sleep 1000 & echo $! > "$(dirname "$0")/grandchild"; echo $$ > "$(dirname "$0")/leader"; wait`)
	c := commandSource{argv: []string{path}, timeout: time.Second}
	_, took, err := region(t, context.Background(), c, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 1s (REGION_COMMAND_TIMEOUT_SECONDS)") {
		t.Fatalf("got %v", err)
	}
	for _, f := range []string{"leader", "grandchild"} {
		if pid := pidFile(t, filepath.Join(dir, f)); !gone(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the %s (%d) outlived the timeout", f, pid)
		}
	}
	t.Logf("timeout 1s → Region returned after %s, leader and grandchild dead", took)
}

// A command that prints the region and exits while a grandchild keeps its
// stdout open: the region is taken at once and the grandchild dies.
func TestCommandSource_GrandchildHoldingOutputAfterExit(t *testing.T) {
	path, dir := script(t, `sleep 1000 & echo $! > "$(dirname "$0")/grandchild"; echo EU868`)
	c := commandSource{argv: []string{path}, timeout: 5 * time.Second}
	name, took, err := region(t, context.Background(), c, 10*time.Second)
	if err != nil || name != "EU868" {
		t.Fatalf("got %q, %v", name, err)
	}
	if took > 2*time.Second {
		t.Errorf("took %s: waited for the grandchild", took)
	}
	if pid := pidFile(t, filepath.Join(dir, "grandchild")); !gone(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("grandchild %d outlived the command", pid)
	}
	t.Logf("region after %s; grandchild dead", took)
}

// A process that left the group (setsid) and holds stdout cannot be killed
// with the group; WaitDelay still makes Region return.
func TestCommandSource_EscapedGrandchildDoesNotHang(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid here")
	}
	// The script waits until the escapee has its own session before it
	// exits, or the group kill could still catch it.
	path, dir := script(t, `cd "$(dirname "$0")"; setsid sh -c 'echo $$ > escaped.tmp; mv escaped.tmp escaped; exec sleep 1000' &
while [ ! -e escaped ]; do sleep 0.01; done; echo EU868`)
	c := commandSource{argv: []string{path}, timeout: 5 * time.Second}
	_, took, err := region(t, context.Background(), c, 10*time.Second)
	syscall.Kill(pidFile(t, filepath.Join(dir, "escaped")), syscall.SIGKILL)
	if err == nil || !strings.Contains(err.Error(), "outside its process group kept its output open") {
		t.Errorf("got %v", err)
	}
	t.Logf("returned after %s (WaitDelay %s)", took, commandWaitDelay)
}

// Shutdown (the parent context ends) kills the group at once.
func TestCommandSource_CancelKillsTheGroup(t *testing.T) {
	path, dir := script(t, `sleep 1000 & echo $! > "$(dirname "$0")/grandchild"; wait`)
	c := commandSource{argv: []string{path}, timeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		for i := 0; i < 10000; i++ {
			if b, _ := os.ReadFile(filepath.Join(dir, "grandchild")); len(b) > 0 && b[len(b)-1] == '\n' {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, took, err := region(t, ctx, c, 10*time.Second)
	if err == nil {
		t.Fatal("no error after cancel")
	}
	if pid := pidFile(t, filepath.Join(dir, "grandchild")); !gone(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("grandchild %d outlived the cancel", pid)
	}
	t.Logf("returned %s after the start", took)
}

// Output over the limit is an error, never a region from a truncated read:
// cut at 4096 bytes, the output below still ends in whole EU868 lines.
func TestCommandSource_OutputOverTheLimitIsAnError(t *testing.T) {
	for name, body := range map[string]string{
		"finite":  `i=0; while [ $i -lt 1000 ]; do echo EU868; i=$((i+1)); done`,
		"endless": `exec yes EU868`,
	} {
		t.Run(name, func(t *testing.T) {
			path, _ := script(t, body)
			c := commandSource{argv: []string{path}, timeout: 20 * time.Second}
			got, took, err := region(t, context.Background(), c, 30*time.Second)
			if err == nil || !strings.Contains(err.Error(), "printed over 4096 bytes") {
				t.Errorf("got %q, %v", got, err)
			}
			if took > 10*time.Second {
				t.Errorf("took %s: ran until the timeout", took)
			}
		})
	}
}

// A failing command's stderr is in the error, its first lines only.
func TestCommandSource_StderrOfAFailure(t *testing.T) {
	path, _ := script(t, `echo "Error: connection refused (helium-miner:4467)" >&2; echo "try again" >&2; exit 3`)
	_, _, err := region(t, context.Background(), commandSource{argv: []string{path}}, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3; its stderr: Error: connection refused (helium-miner:4467) | try again") {
		t.Errorf("got %v", err)
	}

	path, _ = script(t, `yes "a long line of complaints" | head -c 1000000 >&2; echo UNHEARD-OF`)
	_, _, err = region(t, context.Background(), commandSource{argv: []string{path}}, 10*time.Second)
	if err == nil || strings.Count(err.Error(), "complaints") != stderrLines || len(err.Error()) > 1000 {
		t.Errorf("got %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}

	path, _ = script(t, `head -c 1000000 /dev/zero | tr '\0' x >&2; exit 1`)
	_, _, err = region(t, context.Background(), commandSource{argv: []string{path}}, 10*time.Second)
	if err == nil || len(err.Error()) > maxStderrLine+200 {
		t.Errorf("one long stderr line gave %d bytes of error", len(fmt.Sprint(err)))
	}
}

// As PID 1 with the reaper running, the command's own exit status still
// reaches Region (the reaper never steals it), and the grandchildren it
// leaves, killed with its group, are reaped.
func TestCommandSource_AsPID1(t *testing.T) {
	if os.Getenv("PKTFWD_TEST_PID1_COMMAND") == "1" {
		pid1CommandHelper(t)
		return
	}
	if err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").Run(); err != nil {
		t.Skipf("no new PID namespace here (unshare: %v)", err)
	}
	self, _ := os.Executable()
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", self, "-test.run=^TestCommandSource_AsPID1$", "-test.v")
	cmd.Env = append(os.Environ(), "PKTFWD_TEST_PID1_COMMAND=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func pid1CommandHelper(t *testing.T) {
	if os.Getpid() != 1 {
		t.Fatalf("pid %d, want 1", os.Getpid())
	}
	r := newReaper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx)
	}()
	defer func() { cancel(); <-done }()
	path, _ := script(t, `sleep 1000 & sleep 1000 & echo EU868; [ "$1" = fail ] && exit 3; exit 0`)
	for i := 0; i < 40; i++ {
		arg := []string{"ok", "fail"}[i%2]
		name, _, err := region(t, ctx, commandSource{argv: []string{path, arg}, reaper: r}, 10*time.Second)
		if arg == "ok" && (err != nil || name != "EU868") || arg == "fail" && (err == nil || !strings.Contains(err.Error(), "exit status 3")) {
			t.Fatalf("run %d (%s): %q, %v", i, arg, name, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, left := zombiesAndSleepers()
		if n == 0 && left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d zombies and %d grandchildren left after 40 commands", n, left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// zombiesAndSleepers counts zombies and live "sleep" processes in this PID
// namespace.
func zombiesAndSleepers() (zombies, sleepers int) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, _ := os.ReadFile(p)
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			switch {
			case strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z"):
				zombies++
			case strings.Contains(s, "(sleep)"):
				sleepers++
			}
		}
	}
	return zombies, sleepers
}

// REGION_OVERRIDE is noted before any other source can answer, so a
// missing region file is never logged above debug level, however the
// sources' goroutines are scheduled (issue 13).
func TestRegionWatcher_OverrideIsNotedFirst(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "region")
	for i := 0; i < 200; i++ {
		w, hook, stop := runWatcher(overrideSource{"EU868"}, fileSource{path: missing})
		for hook.LastEntry() == nil || !strings.Contains(hook.LastEntry().Message, "does not exist yet") {
			runtime.Gosched()
		}
		stop()
		for _, e := range hook.AllEntries() {
			if e.Level <= logrus.InfoLevel {
				t.Fatalf("run %d: %s: %s", i, e.Level, e.Message)
			}
		}
		if u := <-w.updates; u.Plan == nil || u.Plan.Name != "EU868_A" {
			t.Fatalf("run %d: update %+v", i, u)
		}
	}
}

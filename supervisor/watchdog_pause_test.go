package supervisor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"pktfwd/internal/safefile"
	"pktfwd/supervisor"
)

var (
	pktfwdOnce sync.Once
	pktfwdBin  string
	pktfwdErr  error
)

// pktfwdBinary builds cmd/pktfwd once for the tests that run it as a
// process of its own.
func pktfwdBinary(t *testing.T) string {
	t.Helper()
	pktfwdOnce.Do(func() {
		pktfwdBin = filepath.Join(filepath.Dir(fakeForwarder), "pktfwd")
		if out, err := exec.Command("go", "build", "-o", pktfwdBin, "pktfwd/cmd/pktfwd").CombinedOutput(); err != nil {
			pktfwdErr = fmt.Errorf("building pktfwd: %v\n%s", err, out)
		}
	})
	if pktfwdErr != nil {
		t.Fatal(pktfwdErr)
	}
	return pktfwdBin
}

// pktfwdProcess is pktfwd run as a process on a simulated USB SX1302 with
// the fake forwarder, a statistics block every second.
type pktfwdProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	status string
	log    lockedBuffer
}

// lockedBuffer collects a process's output; the test reads it meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startPktfwd(t *testing.T, mode string, env ...string) *pktfwdProcess {
	dir := t.TempDir()
	root := filepath.Join(dir, "opt")
	os.MkdirAll(root, 0o755)
	if mode != "" {
		os.WriteFile(filepath.Join(root, "fakefwd.mode"), []byte(mode), 0o644)
	}
	p := &pktfwdProcess{t: t, status: filepath.Join(dir, "status.json")}
	port := fmt.Sprint(startAckServer(t, true).port())
	p.cmd = exec.Command(pktfwdBinary(t))
	p.cmd.Env = append(os.Environ(), "CHIP=sx1302", "CONCENTRATOR_INTERFACE=usb", "USB_DEVICE=/dev/null", "GATEWAY_EUI=AA555A0000000004",
		"ROOT_DIR="+root, "REGION_OVERRIDE=EU868", "REGION_FILEPATH="+filepath.Join(dir, "region"),
		"DIAGNOSTICS_FILEPATH="+filepath.Join(dir, "diagnostics"), "STATUS_FILEPATH="+p.status,
		"SX1302_LORA_PKT_FWD_FILEPATH="+fakeForwarder, "AWAIT_SYSTEM_SLEEP_SECONDS=0",
		"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS=0.2", "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=1",
		`GLOBAL_CONF_OVERLAY={"gateway_conf":{"stat_interval":1}}`, "WATCHDOG=true", "LOGLEVEL=info", "SENTRY_KEY=",
		"SERVER_ADDRESS=127.0.0.1", "SERVER_PORT_UP="+port, "SERVER_PORT_DOWN="+port)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGCONT)
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
	})
	return p
}

// read returns status.json as last written.
func (p *pktfwdProcess) read() supervisor.Status {
	var st supervisor.Status
	if b, err := safefile.Read(p.status, 1<<20); err == nil {
		json.Unmarshal(b, &st)
	}
	return st
}

// await polls status.json until ok holds, for at most 20 s.
func (p *pktfwdProcess) await(what string, ok func(supervisor.Status) bool) supervisor.Status {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := p.read()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s; status %+v\nlog:\n%s", what, st, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func blocksIn(st supervisor.Status) uint64 {
	if st.Radio == nil {
		return 0
	}
	return st.Radio.Total.Blocks
}

// A paused pktfwd (docker pause, SIGSTOP, a swap storm) finds, when it
// resumes, its stall deadline long past and the forwarder's blocks waiting
// in the terminal: a healthy forwarder must not be restarted.
func TestWatchdog_pausedPktfwdRestartsNothing(t *testing.T) {
	for _, pause := range []time.Duration{6 * time.Second, 12 * time.Second, 20 * time.Second} {
		t.Run(pause.String(), func(t *testing.T) {
			t.Parallel() // one pktfwd each: the pauses overlap
			p := startPktfwd(t, "")
			first := p.await("3 blocks", func(st supervisor.Status) bool { return st.State == supervisor.StateRunning && blocksIn(st) >= 3 })
			if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(pause) // the pause is what is tested
			if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			resumed, n := time.Now(), blocksIn(p.read())
			// A wrong verdict comes at once or within 2 stall windows (5 s):
			// watch that long, and for 3 blocks at least.
			st := p.await(fmt.Sprintf("3 blocks and 5 s after a %s pause", pause), func(st supervisor.Status) bool {
				return blocksIn(st) >= n+3 && time.Since(resumed) > 5*time.Second || st.Restarts > 0
			})
			if st.Restarts != 0 || st.PID != first.PID || st.Radio.Watchdog.Restarts != 0 {
				t.Fatalf("after a %s pause: %d restarts (watchdog %d), pid %d (was %d); want the healthy forwarder left alone\nlog:\n%s",
					pause, st.Restarts, st.Radio.Watchdog.Restarts, st.PID, first.PID, p.log.String())
			}
		})
	}
}

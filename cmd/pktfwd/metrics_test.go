//go:build !nometrics

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"pktfwd/internal/testtool"
	"strings"
	"syscall"
	"testing"
	"time"

	"pktfwd/supervisor"
)

// Issue 20 item 7: 300 idle /metrics clients held 300 descriptors for
// ever, and under nofile 1024 pktfwd's own writes failed with EMFILE.
// Here pktfwd runs as a real process under nofile 64 (prlimit), its status
// rewritten every second. Half the clients fetch /metrics once and keep
// the connection open, half never send a byte. pktfwd must stay under its
// cap throughout, keep writing status.json, and hold no more descriptors
// than before 35 s later.
func TestMetrics_IdleClientsCannotStarvePktfwdOfFiles(t *testing.T) {
	t.Parallel()
	prlimit := testtool.Require(t, "prlimit", "apt-get install util-linux")
	self, _ := os.Executable()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sx1302"), 0o755)
	os.Symlink(self, filepath.Join(dir, "sx1302", "lora_pkt_fwd"))
	cfg := demoConfig(dir)
	writeRegion(cfg.RegionFilePath, "EU868")
	addr := freePort(t)
	cmd := exec.Command(prlimit, "--nofile=64:64", "--", self)
	cmd.Env = append(pktfwdEnv(cfg), "PKTFWD_TEST_AS_PKTFWD=1", "PKTFWD_SIMULATED_FORWARDER=1", "METRICS_ADDR="+addr,
		"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS=0.1", "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=1", "LOGLEVEL=warning",
		"GLOBAL_CONF_OVERLAY="+cfg.GlobalConfOverlay)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if s := stderr.String(); strings.Contains(s, "too many open files") {
			t.Errorf("pktfwd ran out of descriptors:\n%s", s)
		}
	}()
	pid := cmd.Process.Pid // prlimit execs pktfwd in its own process
	status := func() (s supervisor.Status) {
		b, _ := os.ReadFile(cfg.StatusFilePath)
		json.Unmarshal(b, &s)
		return s
	}
	deadline := time.Now().Add(20 * time.Second)
	for status().State != supervisor.StateRunning || !answers(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("pktfwd is not running with /metrics on %s: %+v\n%s", addr, status(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	base := openFiles(t, pid)

	began := time.Now()
	peak := base
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range 300 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		clients = append(clients, c)
		if i%2 == 0 {
			fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close() // the connection stays open: keep-alive
			}
		}
		peak = max(peak, openFiles(t, pid))
	}
	written := status().UpdatedAt
	for status().UpdatedAt.Equal(written) {
		if time.Since(began) > 10*time.Second {
			t.Fatalf("status.json was not rewritten during the flood (refreshed every second):\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	const allowed = 16 + 2 // the cap, and a connection being refused
	if peak > base+allowed {
		t.Errorf("pktfwd held %d descriptors with 300 clients, %d before: want at most %d more", peak, base, allowed)
	}
	n := openFiles(t, pid)
	for n > base && time.Since(began) < 35*time.Second {
		time.Sleep(250 * time.Millisecond)
		n = openFiles(t, pid)
	}
	t.Logf("descriptors: %d before, at most %d with 300 idle clients, %d after %s", base, peak, n, time.Since(began).Round(time.Second))
	if n > base {
		t.Errorf("pktfwd holds %d descriptors 35 s after 300 idle clients came, %d before", n, base)
	}
	if !answers(addr) {
		t.Error("/metrics does not answer a new client after the flood")
	}
}

// openFiles counts the descriptors process pid holds.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// answers reports whether GET /metrics on addr succeeds.
func answers(addr string) bool {
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freePort returns a loopback address no one listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

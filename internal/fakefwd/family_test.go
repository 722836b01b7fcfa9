package fakefwd_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The SX1301 family: its time-sync lines at the start, the latched
// `SX1301 time (PPS)` under JIT, no SX1302 section or temperature, a stat
// report without temp, and its shorter exit (the upstream thread may end
// before or after the last block, as in the real one).
func TestSX1301Family(t *testing.T) {
	s := startServer(t, acks)
	f := startFwd(t, conf(t, "sx1301", gw(s.port())))
	f.waitLine("INFO: Disabling GPS mode for concentrator's counter...", 1)
	sync := f.waitLine("INFO: host/sx1301 time offset=(", 1)
	f.waitLine("INFO: Enabling GPS mode for concentrator's counter.", 1)
	// The first drift is the whole offset.
	m := regexp.MustCompile(`offset=\((\d+)s:(\d+)µs\) - drift=(\d+)µs`).FindStringSubmatch(sync.text)
	if m == nil || m[3] != m[1]+strings.Repeat("0", 6-len(m[2]))+m[2] {
		t.Errorf("time sync line %q: want the first drift to be the whole offset", sync.text)
	}
	bs := f.waitBlocks(2)
	for i, b := range bs {
		j := strings.Join(b, "\n")
		if !regexp.MustCompile(`### \[JIT\] ###\n# SX1301 time \(PPS\): \d+\nsrc/jitqueue.c:\d+:jit_print_queue\(\): INFO: \[jit\] queue is empty\n### \[GPS\] ###`).MatchString(j) ||
			strings.Contains(j, "SX1302") || strings.Contains(j, "temperature") {
			t.Errorf("block %d:\n%s", i, j)
		}
	}
	if field(bs[0], "# SX1301 time (PPS): ") != field(bs[1], "# SX1301 time (PPS): ") {
		t.Errorf("SX1301 time moved between blocks a second apart; it is latched once a minute")
	}
	d := s.waitFor(t, "a stat report", func(d datagram) bool { return d.id() == 0 && strings.Contains(string(d.b), `"stat":{`) })
	var p struct {
		Stat map[string]any `json:"stat"`
	}
	must(t, json.Unmarshal(d.b[12:], &p))
	if _, ok := p.Stat["temp"]; ok || p.Stat["rxnb"] == nil {
		t.Errorf("SX1301 stat report %s: want rxnb and no temp", d.b[12:])
	}
	sent := time.Now()
	f.signal(syscall.SIGTERM)
	if st, ok := f.wait(5 * time.Second); !ok || st.ExitCode() != 0 {
		t.Fatalf("after SIGTERM: %v", st)
	}
	out := f.text()
	if !endAfter(f, sent) || !strings.Contains(out, "\nINFO: End of upstream thread\n") ||
		!strings.HasSuffix(out, "\nINFO: concentrator stopped successfully\nINFO: Exiting packet forwarder program\n") ||
		strings.Contains(out, "End of JIT thread") {
		t.Errorf("after SIGTERM, want one more block and the SX1301 exit lines:\n%s", out[max(0, len(out)-600):])
	}
}

// SIGTERM wakes the main thread at once for a block of the partial
// interval, then the SX1302 exit sequence runs and the reset script is
// called with stop.
func TestSIGTERMPrintsPartialBlock(t *testing.T) {
	s := startServer(t, acks)
	f := startFwd(t, conf(t, "sx1302", gw(s.port(), "stat_interval", 30)))
	f.waitLine("INFO: [up] PUSH_ACK received in ", 1)
	sent := time.Now()
	f.signal(syscall.SIGTERM)
	if st, ok := f.wait(5 * time.Second); !ok || st.ExitCode() != 0 {
		t.Fatalf("after SIGTERM: %v", st)
	}
	bs := f.blocks()
	if len(bs) != 1 || field(bs[0], "# RF packets received by concentrator: ") == 0 || !endAfter(f, sent) {
		t.Fatalf("want one block, after SIGTERM, with the packets of the partial interval:\n%s", f.text())
	}
	if at := f.waitLine("##### END #####", 1).at; at.Sub(sent) > 2*time.Second {
		t.Errorf("the block came %s after SIGTERM", at.Sub(sent))
	}
	if b, _ := os.ReadFile(filepath.Join(f.dir, "reset.log")); string(b) != "start\nstop\n" {
		t.Errorf("reset_lgw.sh calls %q, want start then stop", b)
	}
}

// Only the latest PULL_DATA's token acknowledges it.
func TestPullAckOutOfSync(t *testing.T) {
	s := startServer(t, func(d datagram) ([]byte, time.Duration) {
		if d.id() == 2 {
			return []byte{2, d.b[1] ^ 0xff, d.b[2], 4}, 0
		}
		return acks(d)
	})
	f := startFwd(t, conf(t, "sx1302", gw(s.port(), "keepalive_interval", 10)))
	f.waitLine("INFO: [down] received out-of-sync ACK", 1)
	if bs := f.waitBlocks(1); !has(bs[0], "# PULL_DATA sent: 1 (0.00% acknowledged)") {
		t.Errorf("first block:\n%s", strings.Join(bs[0], "\n"))
	}
}

// autoquit_threshold: after that many unacknowledged PULL_DATA the
// forwarder exits as on SIGTERM, after the current stat interval.
func TestAutoquit(t *testing.T) {
	s := startServer(t, nil)
	f := startFwd(t, conf(t, "sx1302", gw(s.port(), "autoquit_threshold", 2)))
	f.waitLine("INFO: [down] the last 2 PULL_DATA were not ACKed, exiting application", 1)
	if st, ok := f.wait(5 * time.Second); !ok || st.ExitCode() != 0 {
		t.Fatalf("exit %v, want 0", st)
	}
	if pulls := len(filter(s.received(), 2)); pulls != 2 {
		t.Errorf("%d PULL_DATA sent, want 2", pulls)
	}
}

func filter(ds []datagram, id byte) []datagram {
	var out []datagram
	for _, d := range ds {
		if d.id() == id {
			out = append(out, d)
		}
	}
	return out
}

// Through a pipe stdout arrives in 4096-byte blocks, as glibc buffers a
// static forwarder's printf, and the rest at exit.
func TestPipeIsBlockBuffered(t *testing.T) {
	s := startServer(t, acks)
	dir := t.TempDir()
	b, _ := json.Marshal(conf(t, "sx1302", gw(s.port())))
	must(t, os.WriteFile(filepath.Join(dir, "global_conf.json"), b, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "reset_lgw.sh"), []byte("#!/bin/sh\n"), 0o755))
	cmd := exec.Command(fakeBinary)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FAKEFWD_RX_PER_SEC=20")
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	defer cmd.Process.Kill()
	var reads []int
	buf := make([]byte, 65536)
	for len(reads) < 2 {
		n, err := out.Read(buf)
		if err != nil {
			t.Fatalf("after reads of %v: %v", reads, err)
		}
		reads = append(reads, n)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(out)
	must(t, cmd.Wait())
	if reads[0] != 4096 || reads[1] != 4096 {
		t.Errorf("reads of %v bytes while running, want 4096 each", reads)
	}
	if !strings.HasSuffix(string(rest), "INFO: Exiting packet forwarder program\n") {
		t.Errorf("the output at exit ends %q", rest[max(0, len(rest)-200):])
	}
}

// endAfter tells whether a block ended after t.
func endAfter(f *fwd, t time.Time) bool {
	for _, l := range f.output() {
		if l.text == "##### END #####" && l.at.After(t) {
			return true
		}
	}
	return false
}

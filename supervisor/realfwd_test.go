package supervisor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/internal/realfwd"
	"pktfwd/supervisor"
)

// realHarness is the harness with a real lora_pkt_fwd build as the
// forwarder and CHIP forced, so nothing probes SPI. wrap, when not empty,
// is a shell line run in the forwarder's directory before the build.
func realHarness(t *testing.T, build realfwd.Build, wrap string) *harness {
	dir := realfwd.Dir(t)
	h := newHarness(t)
	h.cfg.LoraPktFwdBeforeCheckSleepSeconds = 5 // the build needs ~0.3 s to give up
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 0.05
	h.opt.MaxBackoff = 400 * time.Millisecond
	bin := filepath.Join(dir, build.Name)
	if wrap != "" {
		bin = filepath.Join(h.dir, "wrapped-"+build.Name)
		script := fmt.Sprintf("#!/bin/sh\n%s\nexec '%s'\n", wrap, filepath.Join(dir, build.Name))
		if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if build.CoreCell {
		h.cfg.Chip = "sx1302"
		os.Remove(h.cfg.SX1302Forwarder)
		if err := os.Symlink(bin, h.cfg.SX1302Forwarder); err != nil {
			t.Fatal(err)
		}
	} else {
		h.cfg.Chip = "sx1301"
		os.MkdirAll(h.cfg.SX1301Dir, 0o755)
		if err := os.Symlink(bin, filepath.Join(h.cfg.SX1301Dir, "lora_pkt_fwd")); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// fwdLines are the forwarder's own lines in the log, in order.
func (h *harness) fwdLines() []string {
	var out []string
	for _, e := range h.logs.AllEntries() {
		if e.Data["source"] == "lora_pkt_fwd" {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestRealForwarder_NoConcentrator runs the supervisor on real builds: the
// forwarder parses the config, fails at the missing concentrator, the cause
// is classified, diagnostics stays false, the back-off grows, the
// forwarder's lines reach the log as printed, and cancel (SIGTERM) leaves
// nothing running.
func TestRealForwarder_NoConcentrator(t *testing.T) {
	for _, b := range []realfwd.Build{realfwd.Builds[0], realfwd.Builds[2]} {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			h := realHarness(t, b, "")
			h.writeRegion("EU868")
			h.start()
			var backoffs []float64
			var pids []int
			next := 0
			for len(backoffs) < 3 {
				var e event
				e, next = h.wait("a back-off", next, func(e event) bool {
					if e.PID != 0 {
						pids = append(pids, e.PID)
					}
					return e.State == supervisor.StateBackoff && e.BackoffSecs > 0
				})
				backoffs = append(backoffs, e.BackoffSecs)
				if e.LastExit == nil || e.LastExit.Code != 1 || !strings.HasPrefix(e.LastExit.Cause, "no concentrator answered") {
					t.Fatalf("last exit %#v\n%s", e.LastExit, h.logText())
				}
				if !strings.Contains(e.LastError, "no concentrator answered") {
					t.Errorf("last_error %q", e.LastError)
				}
			}
			if !(backoffs[0] < backoffs[1] && backoffs[1] < backoffs[2]) {
				t.Errorf("back-off does not grow: %v", backoffs)
			}
			for _, e := range h.snapshot() {
				if e.diag == "true" {
					t.Fatalf("diagnostics true in %+v", e.Status)
				}
			}
			// The same build on the config the supervisor wrote prints the
			// lines the log holds.
			files := map[string][]byte{}
			for _, n := range []string{"global_conf.json", "local_conf.json"} {
				if data, err := os.ReadFile(filepath.Join(h.cfg.RootDir, n)); err == nil {
					files[n] = data
				}
			}
			direct, err := realfwd.Run(context.Background(), realfwd.Dir(t), b, files, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			logged := map[string]bool{}
			for _, l := range h.fwdLines() {
				logged[l] = true
			}
			for _, l := range strings.Split(direct.Output, "\n") {
				if l = strings.TrimRight(l, "\r"); l != "" && !logged[l] {
					t.Errorf("the forwarder's line %q is not in the log as printed", l)
				}
			}
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			for _, pid := range pids {
				if alive(pid) {
					t.Errorf("forwarder %d still alive after shutdown", pid)
				}
			}
			if left := inDir(h.cfg.RootDir); len(left) > 0 {
				t.Errorf("processes still running in ROOT_DIR: %v", left)
			}
		})
	}
}

// TestRealForwarder_BrokenConfig: a config broken on disk after pktfwd
// wrote it (here by a wrapper, as a failing SD card would) makes the real
// forwarder say "not a valid JSON file"; that line and its cause reach the
// log and status.json.
func TestRealForwarder_BrokenConfig(t *testing.T) {
	h := realHarness(t, realfwd.Builds[1], `printf '{"SX130x_conf": {' > global_conf.json`)
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("the exit's cause", 0, func(e event) bool { return e.LastExit != nil && e.LastExit.Cause != "" })
	if !strings.HasPrefix(e.LastExit.Cause, "global_conf.json is not valid JSON") || !strings.Contains(e.LastError, "global_conf.json is not valid JSON") {
		t.Errorf("last exit %+v, last error %q", e.LastExit, e.LastError)
	}
	h.waitLog(logrus.InfoLevel, "ERROR: global_conf.json is not a valid JSON file", 1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

// inDir lists the processes whose working directory is dir.
func inDir(dir string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, p := range procs {
		if cwd, err := os.Readlink(p); err == nil && cwd == dir {
			found = append(found, p)
		}
	}
	return found
}

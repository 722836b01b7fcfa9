// Package realfwd runs the reference builds of the real lora_pkt_fwd on a
// configuration, for tests: without a concentrator a build parses the whole
// config, runs ./reset_lgw.sh and stops at "failed to start the
// concentrator", so it tells whether the config is accepted. The builds and
// their behaviour are described in docs/forwarder-config.md.
//
// Tests find the builds in the directory named by PKTFWD_FORWARDERS_DIR.
package realfwd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvDir names the variable that holds the directory of the builds.
const EnvDir = "PKTFWD_FORWARDERS_DIR"

// Build is one reference forwarder.
type Build struct {
	Name     string // file name in the directory
	CoreCell bool   // SX1302/SX1303 (sx1302_hal), else SX1301
	USB      bool   // can drive a USB concentrator (com_type USB)
}

// Builds are the four real forwarders hotspots run.
var Builds = []Build{
	{Name: "sx1302-lora-net-2.1.0", CoreCell: true, USB: true},
	{Name: "sx1302-helium-1.0.5", CoreCell: true},
	{Name: "sx1301-lora-net-4.0.1"},
	{Name: "sx1301-helium"},
}

// Started is what every build prints when it gets as far as starting the
// concentrator, which is as far as a config can go without hardware.
const Started = "failed to start the concentrator"

// Dir returns the builds' directory, or skips the test, saying why.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		t.Skipf("%s is not set: skipping the checks against the real lora_pkt_fwd builds (CI sets it)", EnvDir)
	}
	for _, b := range Builds {
		if _, err := os.Stat(filepath.Join(dir, b.Name)); err != nil {
			t.Skipf("%s=%s has no %s (%v): skipping the checks against the real lora_pkt_fwd builds", EnvDir, dir, b.Name, err)
		}
	}
	return dir
}

// Result is one run of a build.
type Result struct {
	Build  Build
	Output string // stdout and stderr together
	Err    error  // how the process ended (an exit status 1 is normal)
}

// Accepted tells whether the build parsed the whole config: it reached
// the concentrator start and printed no other ERROR line than those
// expected (see Unexpected).
func (r Result) Accepted() bool {
	return strings.Contains(r.Output, Started) && len(r.Unexpected()) == 0
}

// Unexpected lists the ERROR lines other than the concentrator start
// failure and, for a USB config, the COM port that does not exist here.
func (r Result) Unexpected() []string {
	var bad []string
	for _, l := range strings.Split(r.Output, "\n") {
		if !strings.Contains(l, "ERROR") || strings.Contains(l, Started) || strings.Contains(l, "failed to open COM port") {
			continue
		}
		bad = append(bad, l)
	}
	return bad
}

// Last is the last non-empty output line, the forwarder's verdict.
func (r Result) Last() string {
	lines := strings.Split(strings.TrimSpace(r.Output), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Run runs build b on files (file name → content) in a fresh directory
// with a stub ./reset_lgw.sh that succeeds (a nil content leaves a file
// out), and kills it after timeout.
func Run(ctx context.Context, dir string, b Build, files map[string][]byte, timeout time.Duration) (Result, error) {
	work, err := os.MkdirTemp("", "realfwd-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	files = withDefault(files, "reset_lgw.sh", []byte("#!/bin/sh\nexit 0\n"))
	for name, data := range files {
		if data == nil {
			continue
		}
		perm := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			perm = 0o755
		}
		if err := os.WriteFile(filepath.Join(work, name), data, perm); err != nil {
			return Result{}, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, b.Name))
	cmd.Dir = work
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return Result{}, fmt.Errorf("%s did not exit within %s; output:\n%s", b.Name, timeout, out.String())
	}
	return Result{Build: b, Output: out.String(), Err: runErr}, nil
}

func withDefault(files map[string][]byte, name string, data []byte) map[string][]byte {
	out := map[string][]byte{name: data}
	for k, v := range files {
		out[k] = v
	}
	return out
}

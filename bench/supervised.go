package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// instance is one pktfwd process run the way a fleet runs it, configured
// by the environment, in its own directory.
type instance struct {
	dir, region, diag, status, root string
	cmd                             *exec.Cmd
	watch                           *fsnotify.Watcher
}

func newInstance(b binaries, dir, mode string, extraEnv ...string) (*instance, error) {
	in := &instance{dir: dir, region: filepath.Join(dir, "var", "region"), diag: filepath.Join(dir, "var", "diagnostics"),
		status: filepath.Join(dir, "var", "status.json"), root: filepath.Join(dir, "root")}
	for _, d := range []string{filepath.Dir(in.region), in.root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(in.root, "fakefwd.mode"), []byte(mode), 0o644); err != nil {
		return nil, err
	}
	if err := writeAtomic(in.region, "EU868"); err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	in.watch = w
	if err := w.Add(filepath.Dir(in.region)); err != nil {
		return nil, err
	}
	in.cmd = exec.Command(b.pktfwd)
	in.cmd.Env = append(os.Environ(),
		"CHIP=sx1302", "CONCENTRATOR_INTERFACE=usb", "USB_DEVICE=/dev/null", "GATEWAY_EUI=AA555A0000000001", "ROOT_DIR="+in.root,
		"REGION_FILEPATH="+in.region, "DIAGNOSTICS_FILEPATH="+in.diag, "STATUS_FILEPATH="+in.status,
		"SX1302_LORA_PKT_FWD_FILEPATH="+b.forwarder, "AWAIT_SYSTEM_SLEEP_SECONDS=0",
		"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS=0.05", "LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS=0.05", "LOGLEVEL=warning")
	in.cmd.Env = append(in.cmd.Env, extraEnv...)
	return in, nil
}

func (in *instance) start() error { return in.cmd.Start() }

// stop sends SIGTERM and waits for pktfwd to exit.
func (in *instance) stop() error {
	defer in.watch.Close()
	in.cmd.Process.Signal(syscall.SIGTERM)
	return in.cmd.Wait()
}

// waitFor waits, on file events, until ok holds; it returns when it did.
func (in *instance) waitFor(what string, ok func() bool) (time.Time, error) {
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	for {
		if ok() {
			return time.Now(), nil
		}
		select {
		case <-in.watch.Events:
		case err := <-in.watch.Errors:
			return time.Time{}, err
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("timed out waiting for %s (status %+v)", what, readStatus(in.status))
		}
	}
}

func (in *instance) running(region string) func() bool {
	return func() bool {
		s := readStatus(in.status)
		return s.State == "running" && s.Region == region
	}
}

// measureExits kills the forwarder n times and times the exit →
// diagnostics false. Between kills a region change resets the back-off
// that the kills raise.
func measureExits(b binaries, dir string, n int) ([]time.Duration, error) {
	in, err := newInstance(b, dir, "run")
	if err != nil {
		return nil, err
	}
	if err := in.start(); err != nil {
		return nil, err
	}
	defer in.stop()
	plans := []struct{ name, plan string }{{"US915", "US915_SB2"}, {"EU868", "EU868_A"}}
	plan := "EU868_A"
	var exit []time.Duration
	for i := 0; i < n; i++ {
		if _, err := in.waitFor(plan+" running", func() bool { return in.running(plan)() && readString(in.diag) == "true" }); err != nil {
			return nil, err
		}
		pid := readStatus(in.status).PID
		began := time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		at, err := in.waitFor("diagnostics false", func() bool { return readString(in.diag) == "false" })
		if err != nil {
			return nil, err
		}
		exit = append(exit, at.Sub(began))
		if _, err := in.waitFor("the restart", func() bool { return in.running(plan)() && readStatus(in.status).PID != pid }); err != nil {
			return nil, err
		}
		p := plans[i%2]
		if err := writeAtomic(in.region, p.name); err != nil {
			return nil, err
		}
		plan = p.plan
	}
	return exit, nil
}

// measureStartStop starts pktfwd n times and times exec → forwarder
// started (every configured sleep set to 0 or excluded: the forwarder
// counts as started when its pid is in status.json) and, once it runs,
// SIGTERM → pktfwd exited.
func measureStartStop(b binaries, dir string, n int) (start, stop []time.Duration, err error) {
	for i := 0; i < n; i++ {
		d := filepath.Join(dir, strconv.Itoa(i))
		in, err := newInstance(b, d, "run")
		if err != nil {
			return nil, nil, err
		}
		began := time.Now()
		if err := in.start(); err != nil {
			return nil, nil, err
		}
		at, err := in.waitFor("the forwarder", func() bool { return readStatus(in.status).PID != 0 })
		if err == nil {
			start = append(start, at.Sub(began))
			_, err = in.waitFor("running", in.running("EU868_A"))
		}
		if err != nil {
			in.cmd.Process.Kill()
			in.stop()
			return nil, nil, err
		}
		began = time.Now()
		if err := in.stop(); err != nil {
			return nil, nil, fmt.Errorf("pktfwd after SIGTERM: %w", err)
		}
		stop = append(stop, time.Since(began))
		os.RemoveAll(d)
	}
	return start, stop, nil
}

type usage struct {
	rssMB, anonMB, fileMB, peakMB, cpuPct, cpuPerRestartMs float64 // MB: 10^6 bytes
	restarts                                               int
}

// measureResources samples pktfwd's own CPU time (not its children's) and
// memory after window, with the forwarder running or crash-looping.
//
// Each instance runs its own copy of the binary, as on a hotspot: two
// processes that map one file share its pages, and the kernel does not page
// out a page that another process maps too (docs/memory.md).
func measureResources(pktfwd string, b binaries, dir, mode string, window time.Duration) (usage, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usage{}, err
	}
	b.pktfwd = filepath.Join(dir, filepath.Base(pktfwd))
	if err := copyFile(pktfwd, b.pktfwd); err != nil {
		return usage{}, err
	}
	in, err := newInstance(b, dir, mode)
	if err != nil {
		return usage{}, err
	}
	if err := in.start(); err != nil {
		return usage{}, err
	}
	defer in.stop()
	if mode == "run" {
		if _, err := in.waitFor("running", in.running("EU868_A")); err != nil {
			return usage{}, err
		}
	}
	pid := in.cmd.Process.Pid
	cpu0, r0 := cpuTicks(pid), readStatus(in.status).Restarts
	time.Sleep(window)
	cpu1, r1 := cpuTicks(pid), readStatus(in.status).Restarts
	u := usage{restarts: r1 - r0}
	secs := float64(cpu1-cpu0) / 100 // USER_HZ
	u.cpuPct = 100 * secs / window.Seconds()
	if u.restarts > 0 {
		u.cpuPerRestartMs = 1000 * secs / float64(u.restarts)
	}
	u.rssMB, u.anonMB, u.fileMB, u.peakMB = memMB(pid, "VmRSS:"), memMB(pid, "RssAnon:"), memMB(pid, "RssFile:"), memMB(pid, "VmHWM:")
	return u, nil
}

func cpuTicks(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

// copyFile copies the executable from to the new file to.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// memMB is a memory figure of /proc/PID/status (in KiB there) in MB.
func memMB(pid int, key string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[1], 64)
			return v * 1024 / 1e6
		}
	}
	return 0
}

func writeAtomic(path, v string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(v), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

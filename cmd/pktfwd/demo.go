package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

// demo runs the real supervisor loop in a temporary directory, on a
// simulated SX1303 and reset lines, with this binary as a simulated
// lora_pkt_fwd. It shows detection, rendering, a start, a region change,
// a crash with its restart and a watchdog recovery, then exits 0.
func demoCommand(fs *flag.FlagSet) action {
	keep := fs.Bool("keep", false, "keep the temporary directory for a look at the files")
	level := fs.String("log", "info", "log level")
	return func(ctx context.Context, _ []string) error { return demo(ctx, *keep, *level) }
}

func demo(ctx context.Context, keep bool, level string) error {
	dir, err := os.MkdirTemp("", "pktfwd-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "sx1302"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(self, filepath.Join(dir, "sx1302", "lora_pkt_fwd")); err != nil {
		return err
	}
	cfg := demoConfig(dir)
	netCtx, netStop := context.WithCancel(ctx)
	defer netStop()
	port, err := demoNetwork(netCtx)
	if err != nil {
		return err
	}
	cfg.ServerPortUp, cfg.ServerPortDown = port, port
	log := newLogger(cfg, os.Stderr)
	if lvl, err := logrus.ParseLevel(level); err == nil {
		log.SetLevel(lvl)
	}
	statuses := make(chan supervisor.Status, 256)
	rec := &concentrator.SimRecorder{}
	chip := concentrator.NewSimCoreCell(0x12, 0x03, 0x0016C001FF1E2D3C, true)
	sup, err := supervisor.New(cfg, supervisor.Options{
		Log: log, Version: version,
		Lines:     &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power-enable"), SX1261: rec.Line("sx1261-reset"), Step: 20 * time.Millisecond},
		OpenSPI:   func() (spi.Conn, io.Closer, error) { return chip, io.NopCloser(nil), nil },
		Env:       []string{"PKTFWD_SIMULATED_FORWARDER=1"},
		StopGrace: time.Second,
		OnStatus: func(s supervisor.Status) {
			select {
			case statuses <- s:
			default:
			}
		},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sup.Run(runCtx) }()
	say := func(format string, a ...any) { log.WithField("demo", true).Infof("▶ "+format, a...) }
	say("demo directory %s: a simulated SX1303 on spidev0.0, the region file at %s", dir, cfg.RegionFilePath)
	err = demoScript(ctx, cfg, statuses, say)
	stop()
	if rerr := <-done; err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d, _ := os.ReadFile(cfg.DiagnosticsFilePath)
	say("stopped: diagnostics %s, %d GPIO edges driven on the simulated reset lines", d, len(rec.Edges()))
	say("that was the real supervisor loop; on a hotspot run `pktfwd` with VARIANT set (see README.md)")
	return nil
}

func demoConfig(dir string) supervisor.Config {
	return supervisor.Config{
		SPIBus: "spidev0.0", ConcentratorInterface: "spi", Chip: "auto",
		RegionFilePath: filepath.Join(dir, "var", "region"), RegionPollInterval: time.Minute,
		DiagnosticsFilePath: filepath.Join(dir, "var", "diagnostics"), StatusFilePath: filepath.Join(dir, "var", "status.json"),
		RootDir: filepath.Join(dir, "opt"), SX1302Forwarder: filepath.Join(dir, "sx1302", "lora_pkt_fwd"), SX1301Dir: filepath.Join(dir, "sx1301"),
		ServerAddress: "127.0.0.1", ServerPortUp: 1680, ServerPortDown: 1680, Relay: true, // the ports: demoNetwork
		LoraPktFwdBeforeCheckSleepSeconds: 1, LoraPktFwdAfterSuccessSleepSeconds: 30, LoraPktFwdAfterFailureSleepSeconds: 1,
		LogLevel: "info", LogFormat: "text",
		// A statistics block every second, so the watchdog acts within seconds.
		GlobalConfOverlay: `{"gateway_conf":{"stat_interval":1}}`, Watchdog: true,
	}
}

// demoScript plays the miner: it writes the region, changes it, crashes
// the forwarder, and waits each time for the supervisor to catch up.
func demoScript(ctx context.Context, cfg supervisor.Config, statuses <-chan supervisor.Status, say func(string, ...any)) error {
	waitFor := func(what string, ok func(supervisor.Status) bool) (supervisor.Status, error) {
		for {
			select {
			case <-ctx.Done():
				return supervisor.Status{}, fmt.Errorf("timed out waiting for %s", what)
			case s := <-statuses:
				if ok(s) {
					return s, nil
				}
			}
		}
	}
	running := func(plan string) func(supervisor.Status) bool {
		return func(s supervisor.Status) bool { return s.State == supervisor.StateRunning && s.Region == plan }
	}
	say("the miner writes EU868 into the region file")
	if err := writeRegion(cfg.RegionFilePath, "EU868\n"); err != nil {
		return err
	}
	s, err := waitFor("EU868", running("EU868_A"))
	if err != nil {
		return err
	}
	say("running: %s %s, gateway EUI %s, forwarder pid %d, diagnostics true", s.Chip, s.ChipVersion, s.GatewayEUI, s.PID)
	say("the miner changes the region to US915: no container restart")
	began := time.Now()
	if err := writeRegion(cfg.RegionFilePath, "region_us915\n"); err != nil {
		return err
	}
	if s, err = waitFor("US915", func(s supervisor.Status) bool { return s.Region == "US915_SB2" && s.PID != 0 }); err != nil {
		return err
	}
	say("the forwarder was restarted on %s %s after the change; it counts as running after %gs up",
		s.Region, time.Since(began).Round(time.Millisecond), cfg.LoraPktFwdBeforeCheckSleepSeconds)
	if s, err = waitFor("US915", running("US915_SB2")); err != nil {
		return err
	}
	say("the forwarder crashes (SIGSEGV)")
	if err := syscall.Kill(s.PID, syscall.SIGUSR1); err != nil {
		return err
	}
	if s, err = waitFor("the restart", func(s supervisor.Status) bool { return s.State == supervisor.StateRunning && s.Restarts == 1 }); err != nil {
		return err
	}
	say("restarted after the crash: pid %d, restarts %d, last exit %s", s.PID, s.Restarts, s.LastExit)
	return demoWatchdog(s, waitFor, say)
}

// demoWatchdog hangs the forwarder's radio thread: it stays alive, but its
// statistics blocks stop, and the watchdog restarts it.
func demoWatchdog(s supervisor.Status, waitFor func(string, func(supervisor.Status) bool) (supervisor.Status, error), say func(string, ...any)) error {
	if s, err := waitFor("a statistics block", func(s supervisor.Status) bool { return s.Radio != nil && s.Radio.Watchdog.Verdict == "ok" }); err == nil {
		r := s.Radio
		say("statistics every %gs: %d packets received, %.0f%% of PUSH_DATA acknowledged so far; watchdog %s", r.StatIntervalSecs, r.Total.Received, r.Total.PushAckPct, r.Watchdog.Verdict)
	}
	if s, err := waitFor("the network's answer", func(s supervisor.Status) bool { return len(s.Upstreams) > 0 && s.Upstreams[0].State == "ok" }); err == nil {
		u := s.Upstreams[0]
		say("the forwarder sends to pktfwd's relay, which relays to the network %s: %s, %d of %d PUSH_DATA acknowledged", u.Name, u.State, u.PushAcked, u.PushSent)
	}
	say("the forwarder's radio hangs (SIGUSR2): the process stays alive, ignores SIGTERM, and prints no more statistics")
	if err := syscall.Kill(s.PID, syscall.SIGUSR2); err != nil {
		return err
	}
	v, err := waitFor("the watchdog", func(s supervisor.Status) bool {
		return s.Radio != nil && s.Radio.Watchdog.Verdict == supervisor.RuleStalled
	})
	if err != nil {
		return err
	}
	say("watchdog verdict %s: %s", v.Radio.Watchdog.Verdict, v.Radio.Watchdog.Reason)
	if s, err = waitFor("the recovery", func(s supervisor.Status) bool { return s.State == supervisor.StateRunning && s.Restarts == 2 }); err != nil {
		return err
	}
	say("recovered: the hung forwarder was killed, the chip reset, and a new one runs (pid %d, last exit %s)", s.PID, s.LastExit)
	return nil
}

func writeRegion(path, v string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return errors.Join(supervisor.WriteFileAtomic(path, []byte(v), 0o644))
}

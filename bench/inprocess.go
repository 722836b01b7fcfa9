package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

// regionChange is one region file write → new forwarder running on the new
// plan, split into its parts.
type regionChange struct {
	total      time.Duration // the write → state running with the new plan in global_conf.json
	hardware   time.Duration // the simulated CoreCell reset: five steps of 100 ms
	configured time.Duration // LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS
	detect     time.Duration // the write → stopping the old forwarder (fsnotify, the file's settle time, parsing)
	stop       time.Duration // SIGTERM → the old forwarder reaped
	write      time.Duration // render and write the config
	start      time.Duration // reset done → the new forwarder started
}

// fileSettle is how long the supervisor waits between its two reads of a
// changed region file (a torn write never restarts the forwarder onto a
// wrong plan); the production default.
const fileSettle = 15 * time.Millisecond

// own is the supervisor's share: everything but the hardware steps and the
// configured waits.
func (c regionChange) own() time.Duration { return c.total - c.hardware - c.configured }

// stamped is a status write and when the bench saw it.
type stamped struct {
	supervisor.Status
	at time.Time
}

// statusLog collects the status writes of an in-process supervisor.
type statusLog struct {
	mu      sync.Mutex
	events  []stamped
	changed chan struct{}
}

func (l *statusLog) record(s supervisor.Status) {
	at := time.Now()
	l.mu.Lock()
	l.events = append(l.events, stamped{s, at})
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// wait returns the index of the first event at or after from that
// satisfies ok.
func (l *statusLog) wait(what string, from int, ok func(stamped) bool) (int, error) {
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for i := from; i < len(l.events); i++ {
			if ok(l.events[i]) {
				l.mu.Unlock()
				return i, nil
			}
		}
		from = max(from, len(l.events))
		l.mu.Unlock()
		select {
		case <-l.changed:
		case <-deadline.C:
			return 0, fmt.Errorf("timed out waiting for %s", what)
		}
	}
}

func (l *statusLog) since(i int) []stamped {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]stamped(nil), l.events[i:]...)
}

func (l *statusLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// measureRegionChanges runs the real supervisor loop in this process on a
// simulated SX1302 whose reset lines are simulated with Semtech's real
// 100 ms steps (the pktfwd binary has no simulated lines; `pktfwd demo`
// runs the same way), the simulated forwarder as a real process, and
// alternates the region file between two plans n times.
func measureRegionChanges(b binaries, dir string, n int) ([]regionChange, error) {
	for _, d := range []string{"var", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	cfg := supervisor.Config{
		SPIBus: "spidev0.0", ConcentratorInterface: "spi", Chip: "auto",
		RegionFilePath: filepath.Join(dir, "var", "region"), RegionPollInterval: time.Minute,
		DiagnosticsFilePath: filepath.Join(dir, "var", "diagnostics"), StatusFilePath: filepath.Join(dir, "var", "status.json"),
		RootDir: filepath.Join(dir, "root"), SX1302Forwarder: b.forwarder, SX1301Dir: filepath.Join(dir, "sx1301"),
		GatewayEUI: "AA555A0000000001", ServerAddress: "127.0.0.1", ServerPortUp: 1680, ServerPortDown: 1680,
		LoraPktFwdBeforeCheckSleepSeconds: 0.05, LoraPktFwdAfterSuccessSleepSeconds: 30, LoraPktFwdAfterFailureSleepSeconds: 0.05,
		LogLevel: "debug", LogFormat: "text",
	}
	log := logrus.New()
	log.SetOutput(io.Discard) // formatted as in production (LOGLEVEL=DEBUG), not written
	log.SetLevel(logrus.DebugLevel)
	rec := &concentrator.SimRecorder{Keep: 64}
	step := concentrator.DefaultStep
	chip := concentrator.NewSimCoreCell(0x10, 0x02, 0, true)
	events := &statusLog{changed: make(chan struct{}, 1)}
	sup, err := supervisor.New(cfg, supervisor.Options{
		Log: log, Version: "bench",
		Lines:    &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power-enable"), SX1261: rec.Line("sx1261-reset"), Step: step},
		OpenSPI:  func() (spi.Conn, io.Closer, error) { return chip, io.NopCloser(nil), nil },
		OnStatus: events.record, FileSettle: fileSettle,
	})
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(cfg.RegionFilePath, "EU868"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	defer func() { cancel(); <-done }()

	running := func(plan string, notPID int) func(stamped) bool {
		return func(e stamped) bool { return e.State == supervisor.StateRunning && e.Region == plan && e.PID != notPID }
	}
	if _, err := events.wait("the first start", 0, running("EU868_A", 0)); err != nil {
		return nil, err
	}
	plans := []struct{ name, plan, freq string }{{"US915", "US915_SB2", "904300000"}, {"EU868", "EU868_A", "867500000"}}
	var out []regionChange
	for i := 0; i < n; i++ {
		p := plans[i%2]
		from := events.len()
		old := sup.Status().PID
		began := time.Now()
		if err := writeAtomic(cfg.RegionFilePath, p.name); err != nil {
			return nil, err
		}
		end, err := events.wait(p.plan+" running", from, running(p.plan, old))
		if err != nil {
			return nil, err
		}
		if conf := readString(filepath.Join(cfg.RootDir, "global_conf.json")); !strings.Contains(conf, p.freq) {
			return nil, fmt.Errorf("the new forwarder runs without the %s config", p.plan)
		}
		c, err := split(events.since(from), rec.Edges(), began, end-from, step)
		if err != nil {
			return nil, err
		}
		c.configured = fileSettle + supervisor.Seconds(cfg.LoraPktFwdBeforeCheckSleepSeconds)
		c.detect -= fileSettle
		out = append(out, c)
	}
	return out, nil
}

// split finds the steps of one region change in its status writes (the
// last one is the new forwarder running) and the reset lines' edges.
func split(evs []stamped, edges []concentrator.Edge, began time.Time, end int, step time.Duration) (regionChange, error) {
	c := regionChange{total: evs[end].at.Sub(began)}
	var stopping, starting, started time.Time
	for _, e := range evs[:end+1] {
		switch {
		case stopping.IsZero() && e.State == supervisor.StateStopping:
			stopping = e.at
		case !stopping.IsZero() && starting.IsZero() && e.State == supervisor.StateStartingFwd:
			starting = e.at
		case !starting.IsZero() && started.IsZero() && e.PID != 0:
			started = e.at
		}
	}
	var first, last time.Time
	for _, e := range edges {
		if e.At.After(starting) && !starting.IsZero() {
			if first.IsZero() {
				first = e.At
			}
			last = e.At
		}
	}
	if stopping.IsZero() || starting.IsZero() || started.IsZero() || first.IsZero() {
		return c, fmt.Errorf("a region change without its steps (stopping %v, starting %v, reset %v, started %v)",
			!stopping.IsZero(), !starting.IsZero(), !first.IsZero(), !started.IsZero())
	}
	resetDone := last.Add(step)
	c.hardware = resetDone.Sub(first)
	c.detect, c.stop, c.write, c.start = stopping.Sub(began), starting.Sub(stopping), first.Sub(starting), started.Sub(resetDone)
	return c, nil
}

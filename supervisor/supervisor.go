// Package supervisor runs lora_pkt_fwd and keeps it running: it resets and
// probes the concentrator, follows the region, renders the config, restarts
// the forwarder with back-off, and reports its health in the diagnostics
// and status files.
package supervisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/configs"
)

// Options change what production does, for tests, the demo and the
// benchmarks. The zero value is production.
type Options struct {
	Log         *logrus.Logger
	Version     string
	Lines       *concentrator.Lines                                      // nil: request them through the GPIO character device
	OpenSPI     func() (spi.Conn, io.Closer, error)                      // nil: the configured spidev
	SysRoot     string                                                   // "/sys"
	Env         []string                                                 // extra environment for the forwarder
	Interfaces  []string                                                 // for a MAC-derived EUI; eth0, wlan0
	MAC         configs.MACLookup                                        // nil: the interface's MAC (configs.InterfaceMAC)
	MaxBackoff  time.Duration                                            // 60s
	StableAfter time.Duration                                            // 10m of running resets the back-off
	StopGrace   time.Duration                                            // 5s between SIGTERM and SIGKILL
	NoReap      bool                                                     // as PID 1, leave orphans unreaped (a test control)
	NoTerminal  bool                                                     // give the forwarder a pipe, as where /dev/ptmx is missing (a test control)
	StartLimit  time.Duration                                            // 0: the watchdog's 2 minutes for a concentrator to start
	FileSettle  time.Duration                                            // 15ms between the two reads of the region file
	Reporter    Reporter                                                 // nil: errors are only logged
	OnStatus    func(Status)                                             // called after each status write
	LookupHost  func(ctx context.Context, host string) ([]string, error) // nil: the system resolver
}

// Reporter receives the errors that stop progress (Sentry in production).
// A watchdog verdict's tags hold its rule under RuleTag, so that a reporter
// can group the reports of one rule whatever figures their text holds.
type Reporter interface {
	Report(err error, tags map[string]string, lastLines []string)
}

// reprobeAfter is how many quick consecutive forwarder failures make the
// supervisor probe the chip again (a re-seated or swapped module).
const reprobeAfter = 3

// Supervisor is one run of the main loop. Create it with New.
type Supervisor struct {
	cfg    Config
	opt    Options
	hw     concentrator.Hardware
	log    *logrus.Entry
	files  statusFiles
	reload chan struct{}

	mu          sync.Mutex // guards status, files and filesLogged: the loop and heal write them
	status      Status
	filesLogged map[string]string // status-file problems logged, by file

	lines     *concentrator.Lines
	reaper    *reaper // non-nil when pktfwd is PID 1
	chip      concentrator.Chip
	eui       string
	logged    map[string]string // key → last message logged, to log each problem once (loop only)
	lastStart time.Time         // of the last forwarder (monotonic: it spaces the starts)
	current   *process          // the last forwarder started (loop only)

	serverAt     time.Time // of the last lookup of hm-pktfwd's server (server.go; loop only)
	serverHM     bool      // it resolved
	serverLogged bool      // the choice was logged
	wd           *watch    // the forwarder's statistics and the watchdog's evidence (watchdog.go)
	// relayMode is true when the forwarder sends to pktfwd's GWMP relay,
	// which then reports its observations through observeRelay.
	relayMode bool
}

// New checks cfg and prepares a supervisor; nothing is opened yet.
func New(cfg Config, opt Options) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hw, _ := cfg.Hardware()
	if opt.Log == nil {
		opt.Log = logrus.StandardLogger()
	}
	opt.MaxBackoff = orDefault(opt.MaxBackoff, 60*time.Second)
	opt.StableAfter = orDefault(opt.StableAfter, 10*time.Minute)
	opt.StopGrace = orDefault(opt.StopGrace, 5*time.Second)
	opt.FileSettle = orDefault(opt.FileSettle, 15*time.Millisecond)
	if opt.SysRoot == "" {
		opt.SysRoot = "/sys"
	}
	if opt.Interfaces == nil {
		opt.Interfaces = []string{"eth0", "wlan0"}
	}
	s := &Supervisor{
		cfg: cfg, opt: opt, hw: hw, log: logrus.NewEntry(opt.Log),
		files:  statusFiles{diagPath: cfg.DiagnosticsFilePath, statusPath: cfg.StatusFilePath, onStatus: opt.OnStatus},
		reload: make(chan struct{}, 1),
		lines:  opt.Lines,
		logged: map[string]string{}, filesLogged: map[string]string{},
		wd: newWatch(),
	}
	s.status = Status{Version: opt.Version, Bus: hw.Where()}
	if os.Getpid() == 1 && !opt.NoReap {
		s.reaper = newReaper()
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Reload asks the loop to re-read the region and restart the forwarder
// (SIGHUP). It never blocks.
func (s *Supervisor) Reload() { poke(s.reload) }

// Status returns the last status written.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Run supervises until ctx ends, then stops the forwarder, holds the
// concentrator in reset and writes diagnostics false. It returns nil after
// a clean shutdown.
func (s *Supervisor) Run(ctx context.Context) error {
	s.setDiagnostics(false)
	s.update(func(st *Status) { st.State = StateStarting })
	ctx, cancel := context.WithCancel(ctx)
	defer s.shutdown()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()    // a panic in the loop still ends every goroutine
	defer s.abandon() // and leaves no forwarder running
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.heal(ctx)
	}()
	if s.reaper != nil {
		s.log.Info("running as PID 1: reaping orphaned processes")
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.reaper.run(ctx)
		}()
	}
	if s.cfg.MetricsAddr != "" {
		wg.Add(1)
		go func() { defer wg.Done(); s.serveMetrics(ctx) }()
	}
	if !sleepCtx(ctx, Seconds(s.cfg.AwaitSystemSleepSeconds)) {
		return nil
	}
	if !s.prepareHardware(ctx) {
		return nil
	}
	w := s.newRegionWatcher()
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(ctx)
	}()
	s.loop(ctx, w)
	return nil
}

// abandon kills a forwarder that the loop left running: only a panic in
// the loop does that.
func (s *Supervisor) abandon() {
	if p := s.current; p != nil && !p.hasExited() {
		syscall.Kill(-p.pid(), syscall.SIGKILL)
	}
}

// heal refreshes status.json every LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS,
// in every state, and rewrites the diagnostics file when another program
// deleted or changed it, until ctx ends.
func (s *Supervisor) heal(ctx context.Context) {
	t := time.NewTicker(Seconds(s.cfg.LoraPktFwdAfterSuccessSleepSeconds))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.refresh()
		}
	}
}

func (s *Supervisor) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	healed, err := s.files.healDiagnostics()
	if err != nil {
		s.filesProblem("diagnostics", fmt.Errorf("cannot write the diagnostics file (check DIAGNOSTICS_FILEPATH): %w", err))
	} else if healed {
		s.log.Warnf("%s had been deleted or changed by another program: rewritten", s.cfg.DiagnosticsFilePath)
	}
	s.writeStatus()
}

// shutdown writes diagnostics false first, then holds the chip in reset.
func (s *Supervisor) shutdown() {
	s.setDiagnostics(false)
	s.update(func(st *Status) { st.State = StateStopping; st.PID = 0 })
	if s.lines != nil {
		if err := s.lines.Stop(); err != nil {
			s.log.Warnf("could not hold the concentrator in reset: %v", err)
		}
		if s.opt.Lines == nil {
			s.lines.Close()
		}
	}
	s.update(func(st *Status) { st.State = StateStopped })
	s.log.Info("stopped")
}

func (s *Supervisor) newRegionWatcher() *regionWatcher {
	var srcs []regionSource
	if s.cfg.RegionOverride != "" {
		srcs = append(srcs, overrideSource{s.cfg.RegionOverride})
	}
	if s.cfg.GatewayRPCAddr != "" {
		srcs = append(srcs, newGatewaySource(s.cfg.GatewayRPCAddr, min(s.cfg.RegionPollInterval, 10*time.Second)))
	}
	if argv := strings.Fields(s.cfg.RegionCommand); len(argv) > 0 {
		srcs = append(srcs, commandSource{argv: argv, timeout: Seconds(s.cfg.RegionCommandTimeoutSeconds), reaper: s.reaper})
	}
	w := &regionWatcher{poll: s.cfg.RegionPollInterval, log: s.log, updates: make(chan regionUpdate, 1), reload: make(chan struct{}, 1)}
	if s.cfg.RegionFilePath != "" {
		srcs = append(srcs, fileSource{path: s.cfg.RegionFilePath, settle: s.opt.FileSettle})
	}
	w.sources = srcs
	return w
}

// loop starts the forwarder on the region in force and keeps it running.
func (s *Supervisor) loop(ctx context.Context, w *regionWatcher) {
	bo := newBackoff(Seconds(s.cfg.LoraPktFwdAfterFailureSleepSeconds), s.opt.MaxBackoff)
	var region regionUpdate
	quickFailures := 0
	for {
		if ctx.Err() != nil { // SIGTERM while a region change or SIGHUP stopped the forwarder
			return
		}
		if region.Plan == nil {
			s.update(func(st *Status) { st.State = StateWaitingForRegion })
			var ok bool
			if region, ok = s.awaitRegion(ctx, w.updates); !ok {
				return
			}
		}
		// A SIGHUP that came before this start (during the first wait, or
		// a back-off) is answered by it: re-read the sources, start once.
		select {
		case <-s.reload:
			poke(w.reload)
		default:
		}
		proc, err := s.launch(ctx, region)
		var out outcome
		if err == nil {
			out = s.supervise(ctx, proc, region, w, bo)
		} else if ctx.Err() == nil {
			s.problem("launch", err, nil)
			out = outcome{kind: exited}
		}
		switch out.kind {
		case stopped:
			return
		case changed:
			region = out.region
			continue
		case reloaded:
			poke(w.reload)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if out.ranQuickly {
			quickFailures++
		} else {
			quickFailures = 0
		}
		if quickFailures >= reprobeAfter && s.probes() {
			quickFailures = 0
			s.log.Warnf("%d quick failures in a row: probing the concentrator again", reprobeAfter)
			if !s.prepareHardware(ctx) {
				return
			}
		}
		var ok bool
		if region, ok = s.backoffWait(ctx, bo.next(), region, w, bo); !ok {
			return
		}
	}
}

func (s *Supervisor) awaitRegion(ctx context.Context, updates <-chan regionUpdate) (regionUpdate, bool) {
	for {
		select {
		case <-ctx.Done():
			return regionUpdate{}, false
		case u := <-updates:
			if u.Plan != nil {
				s.log.WithFields(logrus.Fields{"region": u.Plan.Name, "region_source": u.Source}).Infof("region %s from %s", u.Name, u.Source)
				return u, true
			}
			s.update(func(st *Status) { st.LastError = u.Problem })
		}
	}
}

// backoffWait waits d before the next start. A new region or SIGHUP cuts
// it short, but never to less than one back-off step after the last start
// (see untilNextStart), so that flapping regions and SIGHUP floods coalesce. It
// returns the region to start on.
func (s *Supervisor) backoffWait(ctx context.Context, d time.Duration, region regionUpdate, w *regionWatcher, bo *backoff) (regionUpdate, bool) {
	s.update(func(st *Status) { st.State = StateBackoff; st.BackoffSecs = d.Seconds(); st.PID = 0 })
	s.log.WithField("backoff", d.String()).Infof("restarting the forwarder in %s", d)
	deadline := time.Now().Add(d)
	t := time.NewTimer(d)
	defer t.Stop()
	cut := func() { // to the end of the start gap, if that is sooner
		if gapEnd := time.Now().Add(s.untilNextStart(bo)); gapEnd.Before(deadline) {
			deadline = gapEnd
			t.Stop()
			t.Reset(time.Until(deadline))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return region, false
		case <-t.C:
			return region, true
		case <-s.reload:
			poke(w.reload)
			cut()
		case u := <-w.updates:
			if u.Plan == nil {
				continue
			}
			if u.Plan.Name != region.Plan.Name {
				s.logRegionChange(region, u)
				cut()
			}
			region = u
		}
	}
}

// untilNextStart is what remains of the start gap, the least time between
// two starts of the forwarder: the current back-off step, at least the
// first one. A region change or a SIGHUP inside it waits for its end;
// later ones replace it.
func (s *Supervisor) untilNextStart(bo *backoff) time.Duration {
	if s.lastStart.IsZero() {
		return 0
	}
	return time.Until(s.lastStart.Add(bo.step()))
}

func (s *Supervisor) logRegionChange(from, to regionUpdate) {
	s.log.WithFields(logrus.Fields{"region": to.Plan.Name, "region_source": to.Source}).
		Infof("region changed from %s to %s (%s from %s)", from.Plan.Name, to.Plan.Name, to.Name, to.Source)
}

type outcomeKind int

const (
	exited outcomeKind = iota
	changed
	reloaded
	stopped
)

type outcome struct {
	kind       outcomeKind
	region     regionUpdate
	ranQuickly bool
}

// launch renders and writes the config, resets the concentrator and starts
// the forwarder.
func (s *Supervisor) launch(ctx context.Context, region regionUpdate) (*process, error) {
	s.setDiagnostics(false)
	s.update(func(st *Status) {
		st.State, st.Region, st.RegionSource, st.BackoffSecs, st.PID = StateStartingFwd, region.Plan.Name, region.Source, 0, 0
	})
	if err := s.writeConfig(region); err != nil {
		return nil, err
	}
	path, variable := s.forwarderPath()
	if err := checkExecutable(path); err != nil {
		return nil, fmt.Errorf("%w: set %s to the forwarder build for this %s", err, variable, strings.ToUpper(string(s.chip.Model)))
	}
	if err := s.checkForwarderBuild(path); err != nil {
		return nil, err
	}
	if !s.lines.None() {
		if err := s.lines.Start(ctx, s.chip.Model.CoreCell()); err != nil {
			return nil, fmt.Errorf("reset the concentrator: %w", err)
		}
	}
	env := forwarderEnv(os.Environ(), s.opt.Env)
	fwdLog := s.log.WithField("source", "lora_pkt_fwd")
	out := &output{notify: s.wd.notify}
	proc, err := startProcess(path, s.cfg.RootDir, env, !s.opt.NoTerminal, func(line string) { fwdLog.Info(line); out.feed(line) }, s.reaper)
	if err != nil {
		return nil, err
	}
	s.watchForwarder(out, proc.started, proc.terminal)
	s.lastStart, s.current = proc.started, proc
	startedAt := proc.started.UTC()
	s.update(func(st *Status) {
		st.PID, st.StartedAt, st.started, st.Forwarder = proc.pid(), &startedAt, proc.started, path
	})
	s.log.WithFields(logrus.Fields{"pid": proc.pid(), "region": region.Plan.Name}).Infof("started %s", path)
	return proc, nil
}

// secretVariables never reach the forwarder's environment.
var secretVariables = []string{"SENTRY_KEY", "SENTRY_PKTFWD", "SENTRY_DSN"}

// forwarderEnv is the supervisor's environment without the Sentry DSN,
// plus PKTFWD_SUPERVISED=1 (reset_lgw.sh then leaves the GPIO lines to the
// supervisor) and extra.
func forwarderEnv(base, extra []string) []string {
	env := make([]string, 0, len(base)+1+len(extra))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(secretVariables, name) && name != "PKTFWD_SUPERVISED" {
			env = append(env, kv)
		}
	}
	return append(append(env, "PKTFWD_SUPERVISED=1"), extra...)
}

// supervise watches a running forwarder until it exits, the region changes,
// SIGHUP arrives or ctx ends. A new region is written to disk before the
// running forwarder is stopped: when that fails, the forwarder keeps
// running on the old plan and the change is retried.
func (s *Supervisor) supervise(ctx context.Context, proc *process, region regionUpdate, w *regionWatcher, bo *backoff) outcome {
	// The before-check sleep counts from the forwarder's start, not from
	// here: the status write and the log line in between are not part of it.
	healthy := time.NewTimer(time.Until(proc.started.Add(Seconds(s.cfg.LoraPktFwdBeforeCheckSleepSeconds))))
	defer healthy.Stop()
	stable := time.NewTimer(s.opt.StableAfter)
	defer stable.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	writeBo := newBackoff(Seconds(s.cfg.LoraPktFwdAfterFailureSleepSeconds), s.opt.MaxBackoff)
	// alarm is the watchdog's one timer: set for when the rules need to be
	// asked again though no evidence arrived (a stall is an absence).
	alarm := time.NewTimer(time.Hour)
	defer alarm.Stop()
	check := func() bool {
		next, restarted := s.watchdogCheck(ctx, proc, time.Now())
		alarm.Stop()
		if !next.IsZero() {
			alarm.Reset(time.Until(next))
		}
		return restarted
	}
	check()
	var pending *regionUpdate // a region to switch to, not yet applied
	reload := false
	started := false
	defer s.wd.absorb() // the block a stopping forwarder prints last still counts
	for {
		try := false
		select {
		case <-ctx.Done():
			s.stopForwarder(proc, "shutting down")
			return outcome{kind: stopped}
		case <-s.wd.notify: // a statistics block, a line the rules use, the relay's report
			if check() {
				return outcome{kind: exited}
			}
		case <-alarm.C:
			if check() {
				return outcome{kind: exited}
			}
		case <-proc.done:
			s.exited(proc, region)
			if s.wd.j.Verdict == nil {
				s.wd.esc.Reset() // a run that ended without a verdict
			}
			return outcome{kind: exited, ranQuickly: !started}
		case <-healthy.C:
			if proc.hasExited() {
				continue // the exit is handled next
			}
			started = true
			s.setDiagnostics(true)
			s.update(func(st *Status) { st.State, st.LastError = StateRunning, "" })
			s.log.WithFields(logrus.Fields{"pid": proc.pid(), "region": region.Plan.Name, "chip": s.chip.Model}).Info("forwarder is running")
		case <-stable.C:
			bo.reset()
			s.wd.esc.Stable()
		case <-s.reload:
			s.log.Info("SIGHUP: re-reading the region and restarting the forwarder")
			reload, try = true, true
		case u := <-w.updates:
			switch {
			case u.Plan == nil:
			case u.Plan.Name == region.Plan.Name:
				region, pending = u, nil
				s.update(func(st *Status) { st.RegionSource = u.Source })
			default:
				s.logRegionChange(region, u)
				pending, try = &u, true
				writeBo.reset()
			}
		case <-retry.C:
			try = true
		}
		if !try || pending == nil && !reload {
			continue
		}
		if wait := s.untilNextStart(bo); wait > 0 {
			retry.Reset(wait) // coalesce: one start per back-off step
			continue
		}
		if pending != nil {
			if err := s.writeConfig(*pending); err != nil {
				s.problem("region change", fmt.Errorf("still running %s: cannot switch to %s: %w", region.Plan.Name, pending.Plan.Name, err), nil)
				retry.Reset(writeBo.next())
				continue
			}
			delete(s.logged, "region change")
			s.stopForwarder(proc, "region change")
			bo.reset()
			s.wd.esc.Reset()
			return outcome{kind: changed, region: *pending}
		}
		s.stopForwarder(proc, "reload")
		s.wd.esc.Reset() // a run that ended without a verdict
		return outcome{kind: reloaded}
	}
}

// stopForwarder writes diagnostics false, then stops the forwarder: SIGTERM
// to its process group, SIGKILL after StopGrace. A forwarder that SIGKILL
// does not end (stuck in the kernel) is logged and left behind, so that
// shutdown stays bounded.
func (s *Supervisor) stopForwarder(proc *process, why string) {
	s.setDiagnostics(false)
	s.update(func(st *Status) { st.State = StateStopping })
	s.log.WithField("pid", proc.pid()).Infof("stopping the forwarder (%s)", why)
	if !proc.stop(s.opt.StopGrace) {
		s.log.WithField("pid", proc.pid()).Errorf("forwarder pid %d did not end after SIGKILL (stuck in the kernel, e.g. a wedged SPI driver?); going on without it", proc.pid())
		s.update(func(st *Status) {
			st.PID = 0
			st.LastError = fmt.Sprintf("forwarder pid %d did not end after SIGKILL", proc.pid())
		})
		return
	}
	proc.drained()
	exit := proc.exit
	s.update(func(st *Status) { st.PID, st.LastExit = 0, &exit })
}

// exited records an unexpected exit: diagnostics false and the status
// first, then, once its output is drained, one log entry with its last
// lines and a report.
func (s *Supervisor) exited(proc *process, region regionUpdate) {
	s.setDiagnostics(false)
	first := proc.exit // published as is: the status and its readers share it
	s.update(func(st *Status) {
		st.State, st.PID, st.LastExit, st.Restarts = StateBackoff, 0, &first, st.Restarts+1
		st.LastError = "forwarder " + first.String()
	})
	proc.drained()
	lines := proc.lastLines()
	exit := proc.exit
	exit.Cause = classify(lines)
	what := exit.String()
	if exit.Cause != "" {
		what += ": " + exit.Cause
	}
	fields := logrus.Fields{"pid": proc.pid(), "region": region.Plan.Name, "chip": s.chip.Model, "exit_code": exit.Code}
	if exit.Signal != "" {
		fields["signal"] = exit.Signal
	}
	s.log.WithFields(fields).Errorf("forwarder %s after %s; its last lines:\n  %s",
		what, exit.Ran.Round(time.Millisecond), strings.Join(lines, "\n  "))
	if exit.Cause != "" {
		s.update(func(st *Status) {
			st.LastExit = &exit
			st.LastError = "forwarder " + what
		})
	}
	if s.opt.Reporter != nil {
		s.opt.Reporter.Report(fmt.Errorf("lora_pkt_fwd %s", what), s.tags(), lines)
	}
}

func (s *Supervisor) tags() map[string]string {
	st := s.Status()
	return map[string]string{"chip": st.Chip, "region": st.Region, "variant": s.cfg.Variant, "version": s.opt.Version}
}

// problem logs err once per distinct message under key, records it in the
// status and reports it.
func (s *Supervisor) problem(key string, err error, lines []string) {
	msg := err.Error()
	s.update(func(st *Status) { st.LastError = msg })
	if s.logged[key] == msg {
		return
	}
	s.logged[key] = msg
	s.log.Error(msg)
	if s.opt.Reporter != nil {
		s.opt.Reporter.Report(err, s.tags(), lines)
	}
}

func (s *Supervisor) forwarderPath() (path, variable string) {
	if s.chip.Model.CoreCell() {
		return s.cfg.SX1302Forwarder, "SX1302_LORA_PKT_FWD_FILEPATH"
	}
	perBus := filepath.Join(s.cfg.SX1301Dir, "lora_pkt_fwd_"+s.hw.Bus.Name())
	if _, err := os.Stat(perBus); err == nil {
		return perBus, "SX1301_LORA_PKT_FWD_DIR"
	}
	return filepath.Join(s.cfg.SX1301Dir, "lora_pkt_fwd"), "SX1301_LORA_PKT_FWD_DIR"
}

// update changes the status and writes status.json (synced when its
// content changed).
func (s *Supervisor) update(f func(*Status)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.status)
	s.writeStatus()
}

// writeStatus writes the status; s.mu is held.
func (s *Supervisor) writeStatus() {
	if err := s.files.write(s.status); err != nil {
		s.filesProblem("status", fmt.Errorf("cannot write the status file (check STATUS_FILEPATH): %w", err))
	} else {
		delete(s.filesLogged, "status")
	}
}

func (s *Supervisor) setDiagnostics(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.files.setDiagnostics(ok); err != nil {
		s.filesProblem("diagnostics", fmt.Errorf("cannot write the diagnostics file (check DIAGNOSTICS_FILEPATH): %w", err))
	} else {
		delete(s.filesLogged, "diagnostics")
	}
}

// filesProblem logs a status-file error once while it lasts; s.mu is held.
func (s *Supervisor) filesProblem(key string, err error) {
	if msg := err.Error(); s.filesLogged[key] != msg {
		s.filesLogged[key] = msg
		s.log.Warn(msg)
	}
}

func (s *Supervisor) once(key, msg string) {
	if s.logged[key] != msg {
		s.logged[key] = msg
		s.log.Warn(msg)
	}
}

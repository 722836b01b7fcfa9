package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// runCommand is `pktfwd` with no argument: the supervisor itself.
func runCommand(*flag.FlagSet) action {
	return func(ctx context.Context, _ []string) error { return supervise(ctx, supervisor.Options{}) }
}

// Bounds of the exit after SIGTERM or SIGINT (README, "SIGTERM always ends
// pktfwd"): the forwarder's stop grace (5 s) plus one second, of which the
// Sentry flush gets what the stop left, less exitMargin for the rest of the
// exit, and never more than flushMax.
const (
	exitBound  = 6 * time.Second
	exitMargin = 250 * time.Millisecond
	flushMax   = 2 * time.Second
)

// flushTime is how long the Sentry flush may take: flushMax, or what is
// left of exitBound since a stop was asked for at the time signalled holds.
func flushTime(signalled <-chan time.Time) time.Duration {
	select {
	case at := <-signalled:
		return min(flushMax, exitBound-exitMargin-time.Since(at))
	default:
		return flushMax
	}
}

// supervise loads the configuration and runs the supervisor with opt
// (the zero value in production) until SIGTERM or SIGINT. Whatever ends
// it — a configuration error, a panic — diagnostics is false first and
// status.json says why, in the files the configuration names (or the
// defaults where it could not be read).
func supervise(ctx context.Context, opt supervisor.Options) error {
	cfg, src, err := loadConfig(environ())
	log := newLogger(cfg, os.Stderr)
	reporter, flush, rerr := newReporter(cfg, log)
	if rerr != nil && err == nil { // an invalid DSN is already in err
		err = rerr
	}
	if err != nil {
		if reporter != nil {
			reporter.Report(err, nil, nil)
			flush(flushMax)
		}
		return exitOnConfigError(cfg, log, err)
	}
	signalled := make(chan time.Time, 1)
	defer func() { flush(flushTime(signalled)) }()
	defer reporter.recoverAndReport()
	defer recordPanic(cfg)
	opt.Log, opt.Version = log, version
	if reporter != nil {
		opt.Reporter = reporter
	}
	running := make(chan struct{})
	// The supervisor calls OnStatus from its own goroutines too, where the
	// recovers above cannot reach: a panic there is recorded in it.
	opt.OnStatus = recordingPanics(cfg, reporter, onFirstRunning(opt.OnStatus, running))
	sup, err := supervisor.New(cfg, opt)
	if err != nil {
		return exitOnConfigError(cfg, log, fmt.Errorf("%w: %w", errUsage, err))
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	defer context.AfterFunc(ctx, func() { signalled <- time.Now() })()
	go func() {
		defer reporter.recoverAndReport()
		defer recordPanic(cfg)
		trimWhenRunning(ctx, running, log)
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		defer reporter.recoverAndReport()
		defer recordPanic(cfg)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				sup.Reload()
			}
		}
	}()
	if src.variantFile != "" {
		log.WithField("variant", cfg.Variant).Infof("VARIANT read from %s (the environment does not set it)", src.variantFile)
	}
	log.WithField("version", version).Info("pktfwd starting")
	return sup.Run(ctx)
}

// onFirstRunning is next, which may be nil, followed by closing running
// the first time the forwarder is running.
func onFirstRunning(next func(supervisor.Status), running chan struct{}) func(supervisor.Status) {
	var once sync.Once
	return func(s supervisor.Status) {
		if next != nil {
			next(s)
		}
		if s.State == supervisor.StateRunning {
			once.Do(func() { close(running) })
		}
	}
}

// trimWhenRunning gives back what start-up used once the forwarder first
// runs, when start-up is over (docs/memory.md): the garbage on the heap,
// then the pages of the binary (see trimStartupPages).
//
// The garbage first: an idle supervisor allocates about 30 KB a minute,
// and the Go runtime forces a GC every two minutes only once one GC has
// run. Without this one, start-up's megabyte of garbage and every
// allocation after it would stay resident until the heap reached the
// runtime's 4 MB minimum goal, more than an hour later.
func trimWhenRunning(ctx context.Context, running <-chan struct{}, log *logrus.Logger) {
	select {
	case <-ctx.Done():
	case <-running:
		debug.FreeOSMemory()
		n, err := trimStartupPages()
		if err != nil {
			log.Debugf("start-up pages kept: %v", err)
			return
		}
		log.Debugf("start-up over: advised the kernel to page out %.1f MB of the binary", float64(n)/1e6)
	}
}

// exitOnConfigError writes diagnostics false and status.json in state
// config_error, so that another container can show why nothing runs, and
// returns err for main to print (as JSON log lines under LOG_FORMAT=json).
func exitOnConfigError(cfg supervisor.Config, log *logrus.Logger, err error) error {
	var errs supervisor.ConfigErrors
	errors.As(err, &errs)
	last := err.Error()
	if len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.Error()
		}
		last = "invalid configuration: " + strings.Join(lines, "; ")
	}
	if werr := supervisor.WriteExitStatus(cfg.DiagnosticsFilePath, cfg.StatusFilePath, supervisor.StateConfigError, last, errs, version); werr != nil {
		log.Warnf("could not record the configuration error in the status files: %v", werr)
	}
	return logConfigErrors(cfg, err)
}

// recordingPanics is f with a panic in it recorded (recordPanic) and
// reported before it goes on.
func recordingPanics(cfg supervisor.Config, reporter *sentryReporter, f func(supervisor.Status)) func(supervisor.Status) {
	return func(s supervisor.Status) {
		defer reporter.recoverAndReport()
		defer recordPanic(cfg)
		f(s)
	}
}

// recordPanic writes diagnostics false and status.json in state crashed
// when the supervisor panics, then lets the panic go on (to Sentry and out).
// Every goroutine cmd/pktfwd starts or runs code in defers it: a panic ends
// the process from the goroutine it happens in.
func recordPanic(cfg supervisor.Config) {
	if p := recover(); p != nil {
		supervisor.WriteExitStatus(cfg.DiagnosticsFilePath, cfg.StatusFilePath, supervisor.StateCrashed, fmt.Sprintf("panic: %v", p), nil, version)
		panic(p)
	}
}

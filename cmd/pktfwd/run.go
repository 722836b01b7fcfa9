package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"pktfwd/supervisor"
)

// runSupervisor is `pktfwd` with no argument: the supervisor itself.
func runSupervisor(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: run takes no arguments (configure it with the environment; see `pktfwd help`)", errUsage)
	}
	cfg, err := loadConfig()
	log := newLogger(cfg, os.Stderr)
	reporter, flush, rerr := newReporter(cfg, log)
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	defer flush()
	defer reporter.recoverAndReport()
	if err != nil {
		if reporter != nil {
			reporter.Report(err, nil, nil)
		}
		return err
	}
	opt := supervisor.Options{Log: log, Version: version}
	if reporter != nil {
		opt.Reporter = reporter
	}
	sup, err := supervisor.New(cfg, opt)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				sup.Reload()
			}
		}
	}()
	log.WithField("version", version).Info("pktfwd starting")
	return sup.Run(ctx)
}

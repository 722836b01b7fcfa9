package main

import (
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/regions"
)

// pollingSupervisor behaves like hm-pktfwd's loop: every 30 s it reads the
// region file, restarts the forwarder if the region changed, and writes
// diagnostics from whether the forwarder is alive.
type pollingSupervisor struct {
	forwarder, root, region, diag string
	cmd                           *exec.Cmd
	exited                        chan struct{}
	current                       string
}

func (p *pollingSupervisor) start(plan regions.Plan) error {
	files, err := configs.Render(concentrator.SX1302, plan, configs.Site{SPIPath: "/dev/spidev0.0", GatewayID: "AA555A0000000001", Server: "127.0.0.1", PortUp: 1680, PortDown: 1680})
	if err != nil {
		return err
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(p.root, n), b, 0o644); err != nil {
			return err
		}
	}
	p.cmd = exec.Command(p.forwarder)
	p.cmd.Dir = p.root
	p.cmd.Env = append(os.Environ(), "PKTFWD_SUPERVISED=1")
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(p.cmd, p.exited)
	return nil
}

func (p *pollingSupervisor) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// check is one 30 s poll.
func (p *pollingSupervisor) check() error {
	b, _ := os.ReadFile(p.region)
	if name := strings.TrimSpace(string(b)); name != p.current {
		plan, err := regions.Parse(name)
		if err != nil {
			return err
		}
		if p.cmd != nil && p.alive() {
			p.cmd.Process.Signal(syscall.SIGTERM)
			<-p.exited
		}
		p.current = name
		if err := p.start(plan); err != nil {
			return err
		}
	}
	diag := "false"
	if p.alive() {
		diag = "true"
	}
	return os.WriteFile(p.diag, []byte(diag), 0o644)
}

// measureBaseline runs trials polling supervisors side by side, each with
// its own simulated forwarder and poll cycle. Each makes a region change
// and then a crash at a random moment of a cycle, as a miner and a
// failing forwarder would, and times how long the baseline takes to act:
// until the poll that restarts the forwarder (its start and the reset are
// not included) and until the poll that writes diagnostics false.
func measureBaseline(b binaries, dir string, trials int, poll time.Duration) (region, exit []time.Duration, err error) {
	type result struct {
		region, exit time.Duration
		err          error
	}
	results := make(chan result, trials)
	for i := 0; i < trials; i++ {
		go func(dir string) {
			var r result
			r.region, r.exit, r.err = baselineTrial(b, dir, poll)
			results <- r
		}(filepath.Join(dir, strconv.Itoa(i)))
	}
	var errs []error
	for i := 0; i < trials; i++ {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		region, exit = append(region, r.region), append(exit, r.exit)
	}
	return region, exit, errors.Join(errs...)
}

func baselineTrial(b binaries, dir string, poll time.Duration) (region, exit time.Duration, err error) {
	p := &pollingSupervisor{forwarder: b.forwarder, root: filepath.Join(dir, "root"), region: filepath.Join(dir, "region"), diag: filepath.Join(dir, "diagnostics")}
	if err := os.MkdirAll(p.root, 0o755); err != nil {
		return 0, 0, err
	}
	os.WriteFile(filepath.Join(p.root, "reset_lgw.sh"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	writeAtomic(p.region, "EU868")
	if err := p.check(); err != nil {
		return 0, 0, err
	}
	defer func() {
		if p.alive() {
			p.cmd.Process.Kill()
			<-p.exited
		}
	}()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	// a region change at a random moment of the cycle
	time.Sleep(time.Duration(rand.Int63n(int64(poll) * 9 / 10)))
	began := time.Now()
	writeAtomic(p.region, "US915")
	<-tick.C
	if err := p.check(); err != nil {
		return 0, 0, err
	}
	region = time.Since(began)
	// a crash at a random moment of the next cycle
	time.Sleep(time.Duration(rand.Int63n(int64(poll) * 9 / 10)))
	began = time.Now()
	p.cmd.Process.Kill()
	<-tick.C
	if err := p.check(); err != nil {
		return 0, 0, err
	}
	return region, time.Since(began), nil
}

package main

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/regions"
)

// pollInterval is hm-pktfwd's: it looks at the region and the forwarder
// once per LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS (30 s).
const pollInterval = 30 * time.Second

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

// measureBaseline makes a change at a random point of the poll cycle, as
// a miner would, and times how long the baseline takes to act on it.
func measureBaseline(b binaries, dir string, trials int) (region, exit []time.Duration, err error) {
	p := &pollingSupervisor{forwarder: b.forwarder, root: filepath.Join(dir, "root"), region: filepath.Join(dir, "region"), diag: filepath.Join(dir, "diagnostics")}
	os.MkdirAll(p.root, 0o755)
	os.WriteFile(p.root+"/reset_lgw.sh", []byte("#!/bin/sh\nexit 0\n"), 0o755)
	writeAtomic(p.region, "EU868")
	if err := p.check(); err != nil {
		return nil, nil, err
	}
	defer func() {
		if p.alive() {
			p.cmd.Process.Kill()
			<-p.exited
		}
	}()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	names := []string{"US915", "EU868"}
	for i := 0; i < trials; i++ {
		// a region change at a random moment of the cycle
		time.Sleep(time.Duration(rand.Int63n(int64(pollInterval))))
		began := time.Now()
		writeAtomic(p.region, names[i%2])
		<-tick.C
		if err := p.check(); err != nil {
			return nil, nil, err
		}
		region = append(region, time.Since(began))
		// a crash at a random moment of the cycle
		time.Sleep(time.Duration(rand.Int63n(int64(pollInterval))))
		began = time.Now()
		p.cmd.Process.Kill()
		<-tick.C
		if err := p.check(); err != nil {
			return nil, nil, err
		}
		exit = append(exit, time.Since(began))
		p.current = "" // restart it on the next check, as hm-pktfwd's retry does
		if err := p.check(); err != nil {
			return nil, nil, err
		}
	}
	return region, exit, nil
}

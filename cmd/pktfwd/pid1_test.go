package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// pid1Helper runs inside a new PID namespace as its PID 1: the supervisor
// with a forwarder that leaves a child behind at every exit, until 100
// restarts; then it counts the zombies in the namespace.
func pid1Helper() int {
	cfg, _, err := loadConfig(environ())
	if err != nil {
		fmt.Println(err)
		return 1
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	restarts := make(chan int, 64)
	sup, err := supervisor.New(cfg, supervisor.Options{
		Log: log, MaxBackoff: time.Millisecond, NoReap: os.Getenv("PKTFWD_TEST_NOREAP") == "1",
		Env: []string{"PKTFWD_SIMULATED_FORWARDER=1"},
		OnStatus: func(s supervisor.Status) {
			select {
			case restarts <- s.Restarts:
			default:
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	n := 0
	for n < 100 {
		n = <-restarts
	}
	zombies := 0
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, _ := os.ReadFile(p)
		if s := string(b); strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z") {
			zombies++
		}
	}
	cancel()
	<-done
	fmt.Printf("pid=%d restarts=%d zombies=%d\n", os.Getpid(), n, zombies)
	return 0
}

func TestPID1_ReapsOrphansOver100Restarts(t *testing.T) {
	if err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").Run(); err != nil {
		t.Skipf("no new PID namespace here (unshare: %v)", err)
	}
	self, _ := os.Executable()
	run := func(noReap bool) string {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "sx1302"), 0o755)
		os.Symlink(self, filepath.Join(dir, "sx1302", "lora_pkt_fwd"))
		cfg := demoConfig(dir)
		os.MkdirAll(cfg.RootDir, 0o755)
		os.WriteFile(filepath.Join(cfg.RootDir, "fakefwd.mode"), []byte("grandchild"), 0o644)
		writeRegion(cfg.RegionFilePath, "EU868")
		cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", self)
		cmd.Env = append(pktfwdEnv(cfg), "PKTFWD_TEST_PID1_HELPER=1", "LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS=0.001", "LOGLEVEL=error")
		if noReap {
			cmd.Env = append(cmd.Env, "PKTFWD_TEST_NOREAP=1")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	var zombies int
	without := run(true)
	fmt.Sscanf(without[strings.Index(without, "zombies="):], "zombies=%d", &zombies)
	if !strings.HasPrefix(without, "pid=1 ") || zombies < 50 {
		t.Fatalf("the control without reaping should pile up zombies: %s", without)
	}
	with := run(false)
	fmt.Sscanf(with[strings.Index(with, "zombies="):], "zombies=%d", &zombies)
	if zombies > 2 {
		t.Errorf("as PID 1 over 100 restarts: %s (without reaping: %s)", with, without)
	}
	t.Logf("without reaping: %s; with: %s", without, with)
}

package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"pktfwd/internal/fakefwd"
	"pktfwd/supervisor"
)

// TestMain lets `pktfwd demo` use the test binary as its simulated
// forwarder, as it uses the pktfwd binary.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "lora_pkt_fwd" && os.Getenv("PKTFWD_SIMULATED_FORWARDER") == "1" {
		os.Exit(fakefwd.Main())
	}
	if os.Getenv("PKTFWD_TEST_PID1_HELPER") == "1" {
		os.Exit(pid1Helper())
	}
	if os.Getenv("PKTFWD_TEST_PANIC_IN_LOOP") == "1" { // the supervisor with a bug in its loop
		supervise(context.Background(), supervisor.Options{OnStatus: func(supervisor.Status) { panic("test: a bug in the loop") }})
		os.Exit(0)
	}
	if os.Getenv("PKTFWD_TEST_PANIC_IN_REFRESH") == "1" { // a bug in code the status refresh (its own goroutine) calls
		supervise(context.Background(), supervisor.Options{OnStatus: func(s supervisor.Status) {
			// only from the refresh goroutine: the loop writes the status too
			if s.State == supervisor.StateRunning && strings.Contains(string(debug.Stack()), "(*Supervisor).refresh(") {
				panic("test: a bug outside the loop")
			}
		}})
		os.Exit(0)
	}
	if os.Getenv("PKTFWD_TEST_AS_PKTFWD") == "1" { // this binary as `pktfwd`
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRun_UnknownCommandIsUsageError(t *testing.T) {
	if err := run(context.Background(), []string{"frobnicate"}); !errors.Is(err, errUsage) {
		t.Errorf("got %v", err)
	}
	if err := run(context.Background(), []string{"render", "--region", "CN779"}); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "EU868") {
		t.Errorf("render of an unknown region: %v", err)
	}
}

func TestRender_WritesFiles(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"render", "--region", "US915", "--chip", "sx1301", "--spi", "spidev1.2", "--eui", "aa555a0000000009", "--out", dir}); err != nil {
		t.Fatal(err)
	}
	g, _ := os.ReadFile(filepath.Join(dir, "global_conf.json"))
	l, _ := os.ReadFile(filepath.Join(dir, "local_conf.json"))
	if !strings.Contains(string(g), `"SX1301_conf"`) || !strings.Contains(string(l), `"gateway_ID": "AA555A0000000009"`) {
		t.Errorf("global:\n%s\nlocal:\n%s", g, l)
	}
}

// The README's first command: the real loop on simulated hardware.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes a few seconds")
	}
	if err := run(context.Background(), []string{"demo", "--log", "warn"}); err != nil {
		t.Fatal(err)
	}
}

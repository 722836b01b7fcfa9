package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pktfwd/internal/fakefwd"
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
	if os.Getenv("PKTFWD_TEST_AS_PKTFWD") == "1" { // this binary as `pktfwd`
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLoadConfig_ReportsEveryProblemAtOnce(t *testing.T) {
	for k, v := range map[string]string{
		"VARIANT": "COMP-RAKH", "REGION_POLL_INTERVAL": "soon", "SERVER_PORT_UP": "70000", "CHIP": "sx1304",
		"REGION_OVERRIDE": "CN779", "LOGLEVEL": "loud", "GATEWAY_EUI": "0000000000000000", "AWAIT_SYSTEM_SLEEP_SECONDS": "x",
	} {
		t.Setenv(k, v)
	}
	_, err := loadConfig()
	if !errors.Is(err, errUsage) {
		t.Fatalf("got %v, want a usage error (exit 2)", err)
	}
	for _, want := range []string{`VARIANT "COMP-RAKH"`, "COMP-RAKHM", `REGION_POLL_INTERVAL="soon"`, "SERVER_PORT_UP=70000", `CHIP="sx1304"`,
		"REGION_OVERRIDE", "CN779", `LOGLEVEL="loud"`, "GATEWAY_EUI", `AWAIT_SYSTEM_SLEEP_SECONDS="x"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%s", want, err)
		}
	}
}

func TestLoadConfig_DefaultsAliasesAndFalse(t *testing.T) {
	t.Setenv("VARIANT", "COMP-RAKHM")
	t.Setenv("SX1301_DIR", "/firmware/sx1301")
	t.Setenv("SENTRY_PKTFWD", "False")
	t.Setenv("REGION_OVERRIDE", "False")
	t.Setenv("BALENA_ID", "abc123")
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.SX1301Dir != "/firmware/sx1301" || c.SentryKey != "" || c.RegionOverride != "" || c.BalenaDeviceUUID != "abc123" {
		t.Errorf("aliases: %+v", c)
	}
	if c.RootDir != "/opt" || c.RegionFilePath != "/var/pktfwd/region" || c.ServerPortUp != 1680 || c.RegionPollInterval.Seconds() != 60 ||
		c.LoraPktFwdAfterFailureSleepSeconds != 2 || c.SX1302Forwarder != "/opt/sx1302/lora_pkt_fwd" || c.DiagnosticsFilePath != "/var/pktfwd/diagnostics" {
		t.Errorf("defaults: %+v", c)
	}
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

//go:build nogrpc

package supervisor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pktfwd/supervisor"
)

// The lean build refuses GATEWAY_RPC_ADDR instead of ignoring it.
func TestLean_GatewayAddrIsAConfigurationError(t *testing.T) {
	h := newHarness(t)
	h.cfg.GatewayRPCAddr = "helium-miner:4467"
	err := h.cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `GATEWAY_RPC_ADDR="helium-miner:4467"`) || !strings.Contains(err.Error(), "nogrpc") {
		t.Fatalf("Validate: %v, want an error naming GATEWAY_RPC_ADDR and the nogrpc build", err)
	}
	if _, err := supervisor.New(h.cfg, h.opt); err == nil {
		t.Fatal("New accepted GATEWAY_RPC_ADDR in a build without the gateway client")
	}
}

// Without the gateway client the supervisor still follows every other
// region source.
func TestLean_RunsOnTheCommandAndTheFile(t *testing.T) {
	script := filepath.Join(t.TempDir(), "miner")
	os.WriteFile(script, []byte("#!/bin/sh\necho region_in865\n"), 0o755)
	h := newHarness(t)
	h.cfg.RegionCommand = script
	h.start()
	h.wait("IN865 from the command", 0, h.running("IN865_A"))
	h.stop()

	h = newHarness(t)
	h.writeRegion("KR920")
	h.start()
	h.wait("KR920 from the file", 0, h.running("KR920_A"))
}

package supervisor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestRun_USBRefusesHeliumFork: a USB concentrator with an SX1302 forwarder
// that is Helium's fork (spidev_path, no com_type) is refused before start,
// naming the build to use. The real Helium build is used when
// PKTFWD_FORWARDERS_DIR is set, else a small file with its key.
func TestRun_USBRefusesHeliumFork(t *testing.T) {
	h := newHarness(t)
	fwd := filepath.Join(h.dir, "helium_lora_pkt_fwd")
	if dir := os.Getenv("PKTFWD_FORWARDERS_DIR"); dir != "" {
		fwd = filepath.Join(dir, "sx1302-helium-1.0.5")
	} else if err := os.WriteFile(fwd, []byte("#!/bin/sh\n# INFO: spidev_path %s\necho started >&2\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(h.dir, "ttyACM0")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.cfg.ConcentratorInterface, h.cfg.USBDevice, h.cfg.SX1302Forwarder = "usb", dev, fwd
	h.opt.Lines = nil
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("the refusal", 0, func(e event) bool { return strings.Contains(e.LastError, "no USB support") })
	for _, want := range []string{fwd, "SX1302_LORA_PKT_FWD_FILEPATH", "sx1302_hal 2.1.0"} {
		if !strings.Contains(e.LastError, want) {
			t.Errorf("last_error %q lacks %q", e.LastError, want)
		}
	}
	h.waitLog(logrus.ErrorLevel, "no USB support", 1)
	for _, ev := range h.snapshot() {
		if ev.PID != 0 {
			t.Fatalf("the forwarder was started: %+v", ev.Status)
		}
	}
}

// TestRun_USBAcceptsLoraNetBuild: the real Lora-net 2.1.0 build is started
// for a USB concentrator (it then fails without hardware, as expected).
func TestRun_USBAcceptsLoraNetBuild(t *testing.T) {
	dir := os.Getenv("PKTFWD_FORWARDERS_DIR")
	if dir == "" {
		t.Skip("PKTFWD_FORWARDERS_DIR is unset: set it to the directory of the reference lora_pkt_fwd builds")
	}
	h := newHarness(t)
	dev := filepath.Join(h.dir, "ttyACM0")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.cfg.ConcentratorInterface, h.cfg.USBDevice, h.cfg.SX1302Forwarder = "usb", dev, filepath.Join(dir, "sx1302-lora-net-2.1.0")
	h.opt.Lines = nil
	h.writeRegion("EU868")
	h.start()
	h.wait("a start of the 2.1.0 build", 0, func(e event) bool { return e.PID != 0 || e.LastExit != nil })
	if n := h.logCount("no USB support"); n != 0 {
		t.Errorf("the 2.1.0 build was refused %d times", n)
	}
}

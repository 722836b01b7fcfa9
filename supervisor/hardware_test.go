package supervisor_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

func TestRun_WaitsForSPIThenRuns(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	chip := concentrator.NewSimCoreCell(0x10, 0x02, 0, true)
	h.opt.OpenSPI = func() (spi.Conn, io.Closer, error) {
		switch calls.Add(1) {
		case 1, 2, 3:
			b, _ := concentrator.ParseBus("spidev0.0")
			return nil, nil, concentrator.SPIError(b, os.ErrNotExist)
		case 4:
			return &concentrator.SimBus{Fill: 0xFF}, nopCloser{}, nil
		}
		return chip, nopCloser{}, nil
	}
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("waiting_for_spi", 0, func(e event) bool { return e.State == supervisor.StateWaitingForSPI })
	if !strings.Contains(e.LastError, "dtparam=spi=on") || e.diag != "false" {
		t.Errorf("waiting: %q diag %q", e.LastError, e.diag)
	}
	h.wait("no concentrator", next, func(e event) bool { return strings.Contains(e.LastError, "no concentrator answered") })
	h.wait("running", next, h.running("EU868_A"))
	if n := h.logCount("does not exist"); n != 1 {
		t.Errorf("the missing device was logged %d times, want once", n)
	}
}

func TestRun_ReprobesAfterQuickFailures(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	sx1302 := concentrator.NewSimCoreCell(0x10, 0x02, 0, true)
	sx1303 := concentrator.NewSimCoreCell(0x12, 0x03, 0, true)
	h.opt.OpenSPI = func() (spi.Conn, io.Closer, error) {
		if calls.Add(1) == 1 {
			return sx1302, nopCloser{}, nil
		}
		return sx1303, nopCloser{}, nil // the module was swapped
	}
	h.setMode("crash")
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("a re-probe", 0, func(e event) bool { return e.Chip == "sx1303" })
	if calls.Load() != 2 || e.Restarts < 3 {
		t.Errorf("probes %d after %d restarts", calls.Load(), e.Restarts)
	}
}

func TestRun_USBConcentrator(t *testing.T) {
	h := newHarness(t)
	dev := filepath.Join(h.dir, "ttyACM3") // the device node, created below
	h.cfg.ConcentratorInterface, h.cfg.USBDevice, h.cfg.SPIBus = "usb", dev, ""
	h.opt.Lines = nil // no lines configured: nothing requested, resets skipped
	h.opt.OpenSPI = func() (spi.Conn, io.Closer, error) {
		t.Error("SPI opened for a USB concentrator")
		return nil, nil, io.EOF
	}
	h.writeRegion("US915")
	h.start()
	e, next := h.wait("waiting_for_usb", 0, func(e event) bool { return e.State == supervisor.StateWaitingForUSB })
	if !strings.Contains(e.LastError, dev+" does not exist") || !strings.Contains(e.LastError, "USB_DEVICE") || e.PID != 0 {
		t.Errorf("waiting: %q, pid %d", e.LastError, e.PID)
	}
	if err := os.WriteFile(dev, nil, 0o600); err != nil { // plugged in
		t.Fatal(err)
	}
	e, _ = h.wait("running", next, h.running("US915_SB2"))
	g := h.globalConf()
	if e.Chip != "sx1302" || e.Bus != dev || !strings.Contains(g, `"com_type": "USB"`) || !strings.Contains(g, `"com_path": "`+dev+`"`) {
		t.Errorf("status %+v\n%s", e.Status, g[:200])
	}
	if h.logCount("resets are skipped") != 1 {
		t.Error("no notice that resets are skipped")
	}
}

func TestRun_SX1301(t *testing.T) {
	h := newHarness(t)
	h.opt.OpenSPI = simSPI(concentrator.NewSimSX1301())
	os.MkdirAll(h.cfg.SX1301Dir, 0o755)
	os.Symlink(fakeForwarder, filepath.Join(h.cfg.SX1301Dir, "lora_pkt_fwd_spidev0.0"))
	os.WriteFile(filepath.Join(h.cfg.RootDir, "debug_conf.json"), []byte("{}"), 0o644)
	h.writeRegion("AS923_1")
	h.start()
	e, _ := h.wait("running", 0, h.running("AS923_1A"))
	if e.Chip != "sx1301" || !strings.HasSuffix(e.Forwarder, "lora_pkt_fwd_spidev0.0") {
		t.Errorf("status %+v", e.Status)
	}
	if _, err := os.Stat(filepath.Join(h.cfg.RootDir, "debug_conf.json")); !os.IsNotExist(err) {
		t.Error("stale debug_conf.json left in ROOT_DIR")
	}
	l, _ := os.ReadFile(filepath.Join(h.cfg.RootDir, "local_conf.json"))
	if !strings.Contains(h.globalConf(), `"SX1301_conf"`) || !strings.Contains(string(l), "AA555A0000000001") {
		t.Errorf("SX1301 files: %s", l)
	}
}

func TestRun_ConfigWrittenOnlyWhenChanged(t *testing.T) {
	h := newHarness(t)
	h.writeRegion("EU868")
	h.start()
	e, next := h.wait("running", 0, h.running("EU868_A"))
	path := filepath.Join(h.cfg.RootDir, "global_conf.json")
	before, _ := os.Stat(path)
	h.sup.Reload()
	h.wait("a restart", next, func(x event) bool { return x.State == supervisor.StateRunning && x.PID != e.PID })
	after, _ := os.Stat(path)
	if !before.ModTime().Equal(after.ModTime()) || !os.SameFile(before, after) {
		t.Error("global_conf.json rewritten although nothing changed")
	}
}

// TestRun_ChipSetStillNeedsTheDevice: with CHIP set there is no probe, but
// a missing spidev is reported (waiting_for_spi, naming it and the fix)
// and no forwarder is started.
func TestRun_ChipSetStillNeedsTheDevice(t *testing.T) {
	h := newHarness(t)
	h.cfg.Chip, h.cfg.SPIBus = "sx1302", "spidev99.7"
	h.opt.OpenSPI = nil // the real /dev/spidev99.7, which does not exist
	if _, err := os.Stat("/dev/spidev99.7"); err == nil {
		t.Skip("this machine has /dev/spidev99.7")
	}
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("waiting_for_spi", 0, func(e event) bool { return e.State == supervisor.StateWaitingForSPI && e.LastError != "" })
	for _, want := range []string{"/dev/spidev99.7 does not exist", "dtparam=spi=on", "SPI_BUS"} {
		if !strings.Contains(e.LastError, want) {
			t.Errorf("last_error %q lacks %q", e.LastError, want)
		}
	}
	for _, ev := range h.snapshot() {
		if ev.PID != 0 || ev.State == supervisor.StateStartingFwd {
			t.Fatalf("a forwarder was started without its device: %+v", ev.Status)
		}
	}
}

// TestRun_GPIOFaultIsAGPIOProblem: a reset line on a gpiochip that does not
// exist is reported as waiting_for_gpio, naming the chip and line.
func TestRun_GPIOFaultIsAGPIOProblem(t *testing.T) {
	if _, err := os.Stat("/dev/gpiochip97"); err == nil {
		t.Skip("this machine has /dev/gpiochip97")
	}
	h := newHarness(t)
	h.cfg.ResetGPIO = "gpiochip97:5"
	h.opt.Lines = nil // request them for real
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("waiting_for_gpio", 0, func(e event) bool { return e.State == supervisor.StateWaitingForGPIO })
	for _, want := range []string{"/dev/gpiochip97", "line 5"} {
		if !strings.Contains(e.LastError, want) {
			t.Errorf("last_error %q lacks %q", e.LastError, want)
		}
	}
	for _, ev := range h.snapshot() {
		if ev.State == supervisor.StateWaitingForSPI {
			t.Errorf("a GPIO fault reported as %s: %q", ev.State, ev.LastError)
		}
	}
}

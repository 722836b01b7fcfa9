package concentrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pktfwd/concentrator"
)

func TestResolve_Overrides(t *testing.T) {
	h, errs := concentrator.Resolve(concentrator.Settings{Variant: "COMP-RAKHM", SPIBus: "spidev1.0", ResetPin: "22",
		PowerEnGPIO: "gpiochip0:23", SX1261ResetGPIO: "SX1261_RST"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if h.Bus.Path() != "/dev/spidev1.0" || h.Reset.Global != 22 || h.PowerEn.Chip != "gpiochip0" || h.PowerEn.Offset != 23 || h.SX1261.Name != "SX1261_RST" {
		t.Errorf("got %+v", h)
	}
	h, _ = concentrator.Resolve(concentrator.Settings{Variant: "COMP-RAKHM", ResetGPIO: "gpiochip4:12", ResetPin: "22"})
	if h.Reset.Chip != "gpiochip4" || h.Reset.Offset != 12 {
		t.Errorf("RESET_GPIO did not win over RESET_PIN: %v", h.Reset)
	}
	h, errs = concentrator.Resolve(concentrator.Settings{Variant: "COMP-RAKHM", Interface: "usb"})
	if len(errs) > 0 || !h.USB || h.USBDevice != "/dev/ttyACM0" || h.Reset != nil {
		t.Errorf("usb: got %+v %v", h, errs)
	}
}

func TestResolve_ErrorsNameVariables(t *testing.T) {
	_, errs := concentrator.Resolve(concentrator.Settings{Variant: "COMP-RAKH", SPIBus: "spi0", ResetPin: "x", Interface: "i2c"})
	text := ""
	for _, e := range errs {
		text += e.Error() + "\n"
	}
	for _, want := range []string{`VARIANT "COMP-RAKH"`, "COMP-RAKHM", "SPI_BUS", "RESET_PIN", "CONCENTRATOR_INTERFACE"} {
		if !strings.Contains(text, want) {
			t.Errorf("errors do not mention %s:\n%s", want, text)
		}
	}
	if _, errs := concentrator.Resolve(concentrator.Settings{}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "VARIANT") {
		t.Errorf("no bus: %v", errs)
	}
}

func TestParseLineSpec(t *testing.T) {
	for in, want := range map[string]concentrator.LineSpec{
		"17": {Global: 17}, "gpiochip0:17": {Chip: "gpiochip0", Offset: 17},
		"/dev/gpiochip4:3": {Chip: "gpiochip4", Offset: 3}, "GPIO17": {Name: "GPIO17"},
		"gpiochip1:PWR_EN": {Chip: "gpiochip1", Name: "PWR_EN"},
	} {
		got, err := concentrator.ParseLineSpec(in)
		if err != nil || got != want {
			t.Errorf("ParseLineSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-3", "chip0:1", "gpiochip0:", "/sys/class/gpio/gpio17", "gpiochipX:1"} {
		if _, err := concentrator.ParseLineSpec(bad); err == nil {
			t.Errorf("ParseLineSpec(%q) accepted", bad)
		}
	}
}

// fakeSys builds sysRoot/class/gpio/gpiochip<base> for each chip.
func fakeSys(t *testing.T, chips map[string][2]int) string {
	root := t.TempDir()
	for dev, bs := range chips {
		d := filepath.Join(root, "class", "gpio", "gpiochip"+strconv.Itoa(bs[0]))
		must(t, os.MkdirAll(filepath.Join(d, "device", dev), 0o755))
		must(t, os.WriteFile(filepath.Join(d, "base"), []byte(strconv.Itoa(bs[0])+"\n"), 0o644))
		must(t, os.WriteFile(filepath.Join(d, "ngpio"), []byte(strconv.Itoa(bs[1])+"\n"), 0o644))
	}
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMapGlobal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chips  map[string][2]int
		global int
		chip   string
		offset int
		err    string
	}{
		{"pi base 0", map[string][2]int{"gpiochip0": {0, 54}, "gpiochip1": {504, 8}}, 17, "gpiochip0", 17, ""},
		{"pi base moved to 512", map[string][2]int{"gpiochip0": {512, 54}, "gpiochip1": {566, 8}}, 17, "gpiochip0", 17, ""},
		{"pi new number", map[string][2]int{"gpiochip0": {512, 54}}, 529, "gpiochip0", 17, ""},
		{"rk3399 bank 4", map[string][2]int{"gpiochip0": {0, 32}, "gpiochip1": {32, 32}, "gpiochip2": {64, 32}, "gpiochip3": {96, 32}, "gpiochip4": {128, 32}}, 149, "gpiochip4", 21, ""},
		{"rk3399 moved", map[string][2]int{"gpiochip0": {512, 32}, "gpiochip1": {544, 32}, "gpiochip2": {576, 32}, "gpiochip3": {608, 32}, "gpiochip4": {640, 32}}, 149, "gpiochip4", 21, ""},
		{"out of range", map[string][2]int{"gpiochip0": {0, 54}}, 415, "", 0, "gpiochip0 0-53"},
		{"moved and out of range", map[string][2]int{"gpiochip0": {512, 54}}, 100, "", 0, "on no gpiochip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ranges, err := concentrator.ChipRanges(fakeSys(t, tc.chips))
			must(t, err)
			chip, off, how, err := concentrator.MapGlobal(ranges, tc.global)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %s:%d, %v; want error with %q", chip, off, err, tc.err)
				}
				return
			}
			if err != nil || chip != tc.chip || off != tc.offset {
				t.Fatalf("got %s:%d %v, want %s:%d", chip, off, err, tc.chip, tc.offset)
			}
			if how == "" {
				t.Error("no description for the log")
			}
		})
	}
	if _, err := concentrator.ChipRanges(t.TempDir()); err == nil || !strings.Contains(err.Error(), "RESET_GPIO") {
		t.Errorf("missing sysfs: %v", err)
	}
}

func TestLines_Sequences(t *testing.T) {
	const step = 20 * time.Millisecond
	for _, tc := range []struct {
		name     string
		coreCell bool
		want     string
	}{
		{"SX1301 pulse", false, "reset=1 reset=0"},
		{"CoreCell", true, "power=1 reset=1 reset=0 sx1261=0 sx1261=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &concentrator.SimRecorder{}
			ls := &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power"), SX1261: rec.Line("sx1261"), Step: step}
			must(t, ls.Start(context.Background(), tc.coreCell))
			edges := rec.Edges()
			var got []string
			for i, e := range edges {
				got = append(got, e.Line+"="+strconv.Itoa(e.Value))
				if i > 0 && e.At.Sub(edges[i-1].At) < step {
					t.Errorf("edge %d came %v after the previous, want ≥ %v", i, e.At.Sub(edges[i-1].At), step)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %s, want %s", strings.Join(got, " "), tc.want)
			}
			must(t, ls.Stop())
			if last := rec.Edges()[len(rec.Edges())-1]; last.Line != "reset" || last.Value != 1 {
				t.Errorf("stop left %+v, want reset held high", last)
			}
			must(t, ls.Close())
			if err := rec.Line("reset").SetValue(1); err != nil {
				t.Fatal(err)
			}
		})
	}
	var none *concentrator.Lines
	if !none.None() || !(&concentrator.Lines{}).None() {
		t.Error("no lines configured is not None")
	}
}

func TestSimRecorder_Keep(t *testing.T) {
	rec := &concentrator.SimRecorder{Keep: 3}
	l := rec.Line("reset")
	for i := 0; i < 100; i++ {
		l.SetValue(i)
	}
	e := rec.Edges()
	if len(e) > 6 || e[len(e)-1].Value != 99 {
		t.Errorf("kept %d edges, last %+v", len(e), e[len(e)-1])
	}
}

func TestLines_StartStopsWithContext(t *testing.T) {
	rec := &concentrator.SimRecorder{}
	ls := &concentrator.Lines{Reset: rec.Line("reset"), Step: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ls.Start(ctx, false); err != context.Canceled {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestSPIErrors(t *testing.T) {
	b, _ := concentrator.ParseBus("spidev9.9")
	_, _, err := concentrator.OpenSPI(b)
	if err == nil {
		t.Skip("this machine has /dev/spidev9.9")
	}
	for _, want := range []string{"/dev/spidev9.9", "dtparam=spi=on", "devices"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	for _, bad := range []string{"spidev", "spidev0", "spidevA.B", "spidev0.0x"} {
		if _, err := concentrator.ParseBus(bad); err == nil {
			t.Errorf("ParseBus(%q) accepted", bad)
		}
	}
	c, _ := json.Marshal(concentrator.Chip{Model: concentrator.SX1302})
	if !strings.Contains(string(c), `"model":"sx1302"`) {
		t.Errorf("chip JSON %s", c)
	}
}

// TestResolve_ResetPrecedence: RESET_GPIO, then RESET_PIN, then hm-pktfwd's
// CONCENTRATOR_RESET_PIN_OVERRIDE, then the variant's RESET.
func TestResolve_ResetPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    concentrator.Settings
		want concentrator.LineSpec
	}{
		{"variant", concentrator.Settings{Variant: "COMP-RAKHM"}, concentrator.LineSpec{Global: 25}},
		{"override wins over the variant", concentrator.Settings{Variant: "COMP-RAKHM", ResetPinOverride: "23"}, concentrator.LineSpec{Global: 23}},
		{"RESET_PIN wins over the override", concentrator.Settings{Variant: "COMP-RAKHM", ResetPinOverride: "23", ResetPin: "17"}, concentrator.LineSpec{Global: 17}},
		{"RESET_GPIO wins over all", concentrator.Settings{Variant: "COMP-RAKHM", ResetPinOverride: "23", ResetPin: "17", ResetGPIO: "gpiochip1:4"},
			concentrator.LineSpec{Chip: "gpiochip1", Offset: 4}},
		{"override without a variant", concentrator.Settings{SPIBus: "spidev0.0", ResetPinOverride: "23"}, concentrator.LineSpec{Global: 23}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, errs := concentrator.Resolve(tc.s)
			if len(errs) > 0 || h.Reset == nil || *h.Reset != tc.want {
				t.Errorf("reset %v, %v; want %v", h.Reset, errs, tc.want)
			}
		})
	}
	h, errs := concentrator.Resolve(concentrator.Settings{Variant: "COMP-RAKHM", SX125xResetPinOverride: "22"})
	if len(errs) > 0 || h.SX125x == nil || *h.SX125x != (concentrator.LineSpec{Global: 22}) {
		t.Errorf("SX125x %v, %v", h.SX125x, errs)
	}
}

// TestResolve_NoResetLine: RESET_GPIO=none (any case) leaves out the reset
// line, also the one the variant names, and keeps the variant's bus.
func TestResolve_NoResetLine(t *testing.T) {
	for _, s := range []concentrator.Settings{
		{Variant: "COMP-RAKHM", ResetGPIO: "none"},
		{Variant: "COMP-RAKHM", ResetGPIO: " None ", ResetPin: "17", ResetPinOverride: "23"},
		{SPIBus: "spidev1.0", ResetGPIO: "NONE"},
	} {
		h, errs := concentrator.Resolve(s)
		if len(errs) > 0 || h.Reset != nil || h.Bus.Name() == "" {
			t.Errorf("%+v: reset %v, bus %q, errors %v; want no reset line, a bus, no error", s, h.Reset, h.Bus.Name(), errs)
		}
	}
}

// A machine with no gpiochip at all: the error says so and names
// RESET_GPIO=none, not a chip it could not find.
func TestRequestLine_NoGPIOChipHintsNone(t *testing.T) {
	_, _, err := concentrator.RequestLine(concentrator.LineSpec{Global: 25}, 0, t.TempDir())
	if err == nil || !errors.Is(err, concentrator.ErrGPIO) || !strings.Contains(err.Error(), "RESET_GPIO=none") ||
		strings.Contains(err.Error(), "( line") {
		t.Errorf("got %v; want an ErrGPIO naming RESET_GPIO=none, without an empty chip", err)
	}
}

// TestResolve_ErrorsNameTheVariableSet: every reset error names the
// variable that holds the bad value, never one the user did not set.
func TestResolve_ErrorsNameTheVariableSet(t *testing.T) {
	for _, tc := range []struct {
		s         concentrator.Settings
		want, not string
	}{
		{concentrator.Settings{Variant: "COMP-RAKHM", ResetPin: "-1"}, `RESET_PIN`, "RESET_GPIO"},
		{concentrator.Settings{Variant: "COMP-RAKHM", ResetPin: "x"}, `RESET_PIN="x"`, "RESET_GPIO:"},
		{concentrator.Settings{Variant: "COMP-RAKHM", ResetGPIO: "gpiochipX:1"}, "RESET_GPIO", "RESET_PIN"},
		{concentrator.Settings{Variant: "COMP-RAKHM", ResetPinOverride: "-5"}, "CONCENTRATOR_RESET_PIN_OVERRIDE", "RESET_GPIO"},
		{concentrator.Settings{Variant: "COMP-RAKHM", ResetPinOverride: "GPIO5"}, "CONCENTRATOR_RESET_PIN_OVERRIDE", "RESET_GPIO:"},
		{concentrator.Settings{Variant: "COMP-RAKHM", SX125xResetPinOverride: "-2"}, "SX125x_RESET_PIN_OVERRIDE", "RESET_GPIO"},
	} {
		_, errs := concentrator.Resolve(tc.s)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) || strings.Contains(errs[0].Error(), tc.not) {
			t.Errorf("%+v: got %v, want one error naming %s and not %s", tc.s, errs, tc.want, tc.not)
		}
	}
}

func TestLines_SX125xPulsedAfterReset(t *testing.T) {
	for _, tc := range []struct {
		coreCell bool
		want     string
	}{
		{false, "reset=1 reset=0 sx125x=1 sx125x=0"},
		{true, "power=1 reset=1 reset=0 sx125x=1 sx125x=0"},
	} {
		rec := &concentrator.SimRecorder{}
		ls := &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power"), SX125x: rec.Line("sx125x"), Step: time.Microsecond}
		must(t, ls.Start(context.Background(), tc.coreCell))
		var got []string
		for _, e := range rec.Edges() {
			got = append(got, e.Line+"="+strconv.Itoa(e.Value))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("CoreCell %v: got %s, want %s", tc.coreCell, strings.Join(got, " "), tc.want)
		}
		must(t, ls.Stop())
		if e := rec.Edges(); len(e) < 2 || e[len(e)-2].Line != "reset" || e[len(e)-2].Value != 1 || e[len(e)-1].Line != "sx125x" || e[len(e)-1].Value != 1 {
			t.Errorf("stop: %+v, want reset and sx125x held high", e[len(e)-2:])
		}
		if ls.None() {
			t.Error("None with lines")
		}
		must(t, ls.Close())
	}
	if (&concentrator.Lines{SX125x: (&concentrator.SimRecorder{}).Line("x")}).None() {
		t.Error("an SX125x line alone counts as no lines")
	}
}

func TestHardware_CheckDevice(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "ttyACM0")
	usb := concentrator.Hardware{USB: true, USBDevice: dev}
	if err := usb.CheckDevice(); !errors.Is(err, concentrator.ErrUSBMissing) || !strings.Contains(err.Error(), "USB_DEVICE") {
		t.Errorf("missing USB device: %v", err)
	}
	must(t, os.WriteFile(dev, nil, 0o600))
	if err := usb.CheckDevice(); err != nil {
		t.Errorf("present USB device: %v", err)
	}
	b, _ := concentrator.ParseBus("spidev99.9")
	if _, err := os.Stat(b.Path()); err == nil {
		t.Skip("this machine has /dev/spidev99.9")
	}
	if err := (concentrator.Hardware{Bus: b}).CheckDevice(); !errors.Is(err, concentrator.ErrSPIMissing) || !strings.Contains(err.Error(), "/dev/spidev99.9") {
		t.Errorf("missing SPI device: %v", err)
	}
}

package concentrator_test

import (
	"strings"
	"testing"

	"pktfwd/concentrator"
)

// FuzzParseLineSpec: the GPIO spec parser never panics, and a spec it
// accepts prints back as something it accepts again, naming the same line.
func FuzzParseLineSpec(f *testing.F) {
	for _, s := range []string{"17", "gpiochip0:17", "/dev/gpiochip4:3", "GPIO17", "gpiochip1:PWR_EN", "", ":", "gpiochip:1", "-1", "gpiochip0:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := concentrator.ParseLineSpec(s)
		if err != nil {
			return
		}
		if spec.Global < 0 || spec.Offset < 0 {
			t.Fatalf("%q gave negative numbers: %+v", s, spec)
		}
		if spec.Chip != "" && !strings.HasPrefix(spec.Chip, "gpiochip") {
			t.Fatalf("%q gave chip %q", s, spec.Chip)
		}
		if spec.Chip == "" && spec.Name == "" {
			return // a global number prints as prose
		}
		again, err := concentrator.ParseLineSpec(spec.String())
		if err != nil || again != spec {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, spec, spec.String(), again, err)
		}
	})
}

// FuzzResolve: variant and bus settings never panic, and every problem
// names its variable.
func FuzzResolve(f *testing.F) {
	f.Add("COMP-RAKHM", "spidev0.0", "17", "gpiochip0:17", "spi")
	f.Add("nope", "spidevX", "x", "::", "i2c")
	f.Fuzz(func(t *testing.T, variant, bus, pin, gpio, iface string) {
		_, errs := concentrator.Resolve(concentrator.Settings{Variant: variant, SPIBus: bus, ResetPin: pin, ResetGPIO: gpio, Interface: iface})
		for _, e := range errs {
			msg := e.Error()
			if !strings.Contains(msg, "VARIANT") && !strings.Contains(msg, "SPI_BUS") && !strings.Contains(msg, "RESET_") &&
				!strings.Contains(msg, "CONCENTRATOR_INTERFACE") && !strings.Contains(msg, "POWER_EN") && !strings.Contains(msg, "SX1261") {
				t.Fatalf("an error that names no variable: %v", e)
			}
		}
	})
}

package main

import (
	"strings"
	"testing"
)

// TestLoadConfig_HmPktfwdResetInputs: hm-pktfwd's reset_lgw.sh inputs, as
// its fleets spell them, reach the hardware: the override wins over the
// variant's pin and the SX125x line is configured.
func TestLoadConfig_HmPktfwdResetInputs(t *testing.T) {
	t.Setenv("VARIANT", "COMP-RAKHM") // reset 25
	t.Setenv("CONCENTRATOR_RESET_PIN_OVERRIDE", "23")
	t.Setenv("SX125x_RESET_PIN_OVERRIDE", "22")
	c, _, err := loadConfig(environ())
	if err != nil {
		t.Fatal(err)
	}
	h, errs := c.Hardware()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if h.Reset == nil || h.Reset.Global != 23 || h.SX125x == nil || h.SX125x.Global != 22 {
		t.Errorf("reset %v, SX125x %v; want global 23 and 22", h.Reset, h.SX125x)
	}
}

// TestLoadConfig_ResetPinErrorNamesResetPin: RESET_PIN=-1 is reported as
// RESET_PIN, the variable the user set.
func TestLoadConfig_ResetPinErrorNamesResetPin(t *testing.T) {
	t.Setenv("VARIANT", "COMP-RAKHM")
	t.Setenv("RESET_PIN", "-1")
	_, _, err := loadConfig(environ())
	if err == nil || !strings.Contains(err.Error(), "RESET_PIN") || strings.Contains(err.Error(), "RESET_GPIO:") {
		t.Errorf("got %v, want an error naming RESET_PIN", err)
	}
}

// With none of SERVER_ADDRESS, SERVER_PORT_UP, SERVER_PORT_DOWN set, the
// supervisor picks hm-pktfwd's destination where it resolves; any one set
// turns that off.
func TestLoadConfig_ServerAutoOnlyWhenUnset(t *testing.T) {
	t.Setenv("VARIANT", "COMP-RAKHM")
	c, _, err := loadConfig(environ())
	if err != nil || !c.ServerAuto {
		t.Fatalf("nothing set: ServerAuto %v, %v; want true", c.ServerAuto, err)
	}
	for _, name := range []string{"SERVER_ADDRESS", "SERVER_PORT_UP", "SERVER_PORT_DOWN"} {
		t.Run(name, func(t *testing.T) {
			value := "1680"
			if name == "SERVER_ADDRESS" {
				value = "127.0.0.1"
			}
			t.Setenv(name, value)
			if c, _, err := loadConfig(environ()); err != nil || c.ServerAuto {
				t.Errorf("%s set: ServerAuto %v, %v; want false", name, c.ServerAuto, err)
			}
		})
	}
}

package concentrator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Settings are the hardware variables as the operator set them; empty means
// unset. Explicit buses and lines win over the variant's.
type Settings struct {
	Variant         string
	Interface       string // "spi" (default) or "usb"
	SPIBus          string
	USBDevice       string
	ResetPin        string // legacy global number
	ResetGPIO       string // gpiochipN:LINE, a line name, or NoReset; wins over ResetPin
	PowerEnGPIO     string
	SX1261ResetGPIO string

	// hm-pktfwd's reset_lgw.sh inputs (docs/hm-pktfwd.md).
	ResetPinOverride       string // CONCENTRATOR_RESET_PIN_OVERRIDE: legacy global number, wins over the variant
	SX125xResetPinOverride string // SX125x_RESET_PIN_OVERRIDE: a line pulsed with the reset
}

// NoReset as RESET_GPIO says the concentrator has no reset line to drive
// (a board without one, a USB module, a test), also when VARIANT names one.
const NoReset = "none"

// Hardware is where the concentrator is and which lines control it.
type Hardware struct {
	USB       bool
	Bus       Bus    // when !USB
	USBDevice string // when USB
	Reset     *LineSpec
	PowerEn   *LineSpec
	SX1261    *LineSpec
	SX125x    *LineSpec // an extra reset line pulsed after Reset
	Variant   *Variant
}

// Resolve combines the variant table with the explicit settings. Every
// problem is returned, each naming its variable.
func Resolve(s Settings) (Hardware, []error) {
	var h Hardware
	var errs []error
	if s.Variant != "" {
		v, err := LookupVariant(s.Variant)
		if err != nil {
			errs = append(errs, err)
		} else {
			h.Variant = &v
		}
	}
	switch strings.ToLower(s.Interface) {
	case "", "spi":
	case "usb":
		h.USB = true
		h.USBDevice = s.USBDevice
		if h.USBDevice == "" {
			h.USBDevice = "/dev/ttyACM0"
		}
	default:
		errs = append(errs, fmt.Errorf("CONCENTRATOR_INTERFACE=%q: want spi or usb", s.Interface))
	}
	if !h.USB {
		bus := s.SPIBus
		if bus == "" && h.Variant != nil {
			bus = h.Variant.SPIBus
		}
		switch b, err := ParseBus(bus); {
		case bus == "" && s.Variant == "":
			errs = append(errs, errors.New("no SPI bus: set VARIANT (see `pktfwd variants`) or SPI_BUS, e.g. SPI_BUS=spidev0.0"))
		case bus != "" && err != nil:
			errs = append(errs, fmt.Errorf("SPI_BUS: %w", err))
		default:
			h.Bus = b
		}
	}
	reset, resetVar := resetSetting(s)
	switch {
	case strings.EqualFold(strings.TrimSpace(s.ResetGPIO), NoReset):
		reset = ""
	case reset == "" && h.Variant != nil && !h.USB:
		reset, resetVar = strconv.Itoa(h.Variant.Reset), "VARIANT"
	}
	for _, l := range []struct {
		name, value string
		dst         **LineSpec
	}{
		{resetVar, reset, &h.Reset}, {"POWER_EN_GPIO", s.PowerEnGPIO, &h.PowerEn},
		{"SX1261_RESET_GPIO", s.SX1261ResetGPIO, &h.SX1261}, {"SX125x_RESET_PIN_OVERRIDE", s.SX125xResetPinOverride, &h.SX125x},
	} {
		if l.value == "" {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimSpace(l.value)); err != nil && globalOnly(l.name) {
			errs = append(errs, fmt.Errorf("%s=%q: want a global GPIO number such as 17 (or set RESET_GPIO=gpiochipN:LINE)", l.name, l.value))
			continue
		}
		spec, err := ParseLineSpec(l.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.name, err))
			continue
		}
		*l.dst = &spec
	}
	return h, errs
}

// globalOnly tells the variables that take only a legacy global GPIO
// number, as hm-pyhelper's RESET and hm-pktfwd's reset_lgw.sh did.
func globalOnly(variable string) bool {
	switch variable {
	case "RESET_PIN", "CONCENTRATOR_RESET_PIN_OVERRIDE", "SX125x_RESET_PIN_OVERRIDE":
		return true
	}
	return false
}

// resetSetting picks the reset line the operator set and names its
// variable: RESET_GPIO, else RESET_PIN, else hm-pktfwd's
// CONCENTRATOR_RESET_PIN_OVERRIDE. Empty means the variant's.
func resetSetting(s Settings) (value, variable string) {
	for _, v := range []struct{ name, value string }{
		{"RESET_GPIO", s.ResetGPIO}, {"RESET_PIN", s.ResetPin}, {"CONCENTRATOR_RESET_PIN_OVERRIDE", s.ResetPinOverride},
	} {
		if v.value != "" {
			return v.value, v.name
		}
	}
	return "", ""
}

// Where names the concentrator's device, for logs and status.
func (h Hardware) Where() string {
	if h.USB {
		return h.USBDevice
	}
	return h.Bus.Name()
}

// RequestLines requests every configured line once, with the Consumer name.
// logf receives one line per mapping.
func (h Hardware) RequestLines(sysRoot string, logf func(string)) (*Lines, error) {
	ls := &Lines{}
	for _, l := range []struct {
		spec    *LineSpec
		initial int
		dst     *Line
	}{{h.Reset, 0, &ls.Reset}, {h.PowerEn, 1, &ls.PowerEn}, {h.SX1261, 1, &ls.SX1261}, {h.SX125x, 0, &ls.SX125x}} {
		if l.spec == nil {
			continue
		}
		line, how, err := RequestLine(*l.spec, l.initial, sysRoot)
		if err != nil {
			ls.Close()
			return nil, err
		}
		logf(how)
		*l.dst = line
	}
	return ls, nil
}

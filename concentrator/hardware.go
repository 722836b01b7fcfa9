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
	ResetGPIO       string // gpiochipN:LINE or a line name; wins over ResetPin
	PowerEnGPIO     string
	SX1261ResetGPIO string
}

// Hardware is where the concentrator is and which lines control it.
type Hardware struct {
	USB       bool
	Bus       Bus    // when !USB
	USBDevice string // when USB
	Reset     *LineSpec
	PowerEn   *LineSpec
	SX1261    *LineSpec
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
	reset := s.ResetGPIO
	if reset == "" {
		reset = s.ResetPin
		if _, err := strconv.Atoi(reset); reset != "" && err != nil {
			errs = append(errs, fmt.Errorf("RESET_PIN=%q: want a global GPIO number such as 17 (or set RESET_GPIO=gpiochipN:LINE)", reset))
			reset = ""
		}
	}
	if reset == "" && h.Variant != nil && !h.USB {
		reset = strconv.Itoa(h.Variant.Reset)
	}
	for _, l := range []struct {
		name, value string
		dst         **LineSpec
	}{{"RESET_GPIO", reset, &h.Reset}, {"POWER_EN_GPIO", s.PowerEnGPIO, &h.PowerEn}, {"SX1261_RESET_GPIO", s.SX1261ResetGPIO, &h.SX1261}} {
		if l.value == "" {
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
	}{{h.Reset, 0, &ls.Reset}, {h.PowerEn, 1, &ls.PowerEn}, {h.SX1261, 1, &ls.SX1261}} {
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

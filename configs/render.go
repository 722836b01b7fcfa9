// Package configs renders the global_conf.json (and local_conf.json) each
// forwarder build expects, from a frequency plan, a calibration profile and
// the site's values. It never opens a device or reads the environment.
package configs

import (
	"errors"
	"fmt"
	"strings"

	"pktfwd/chips"
	"pktfwd/regions"
)

// Site holds the values injected into every rendered config.
type Site struct {
	SPIPath   string // "/dev/spidev0.0"; empty for USB
	USBPath   string // "/dev/ttyACM0" for a USB concentrator
	GatewayID string // 16 hex digits (see ParseEUI)
	Server    string // where the forwarder sends: the gateway or a multiplexer
	PortUp    int
	PortDown  int
}

func (s Site) validate(m chips.Model) error {
	var errs []error
	if _, err := ParseEUI(s.GatewayID); err != nil {
		errs = append(errs, err)
	}
	if s.Server == "" {
		errs = append(errs, errors.New("no server address (SERVER_ADDRESS)"))
	}
	for _, p := range []int{s.PortUp, s.PortDown} {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("server port %d: want 1 to 65535", p))
		}
	}
	if m.CoreCell() && s.SPIPath == "" && s.USBPath == "" {
		errs = append(errs, errors.New("no SPI path or USB device for the SX1302 family"))
	}
	if m == chips.SX1301 && s.USBPath != "" {
		errs = append(errs, errors.New("SX1301 concentrators are SPI only: unset CONCENTRATOR_INTERFACE=usb or set CHIP"))
	}
	return errors.Join(errs...)
}

// Files is a rendered configuration, file name → contents.
type Files map[string][]byte

// Render builds the files for a chip model and plan with the calibration of
// hm-pktfwd's templates (ProfileFor). The bytes are deterministic.
func Render(m chips.Model, p regions.Plan, s Site) (Files, error) {
	if err := s.validate(m); err != nil {
		return nil, err
	}
	prof := ProfileFor(m, p.Band())
	if m.CoreCell() {
		return encodeFiles(object{{"SX130x_conf", sx130xConf(p, prof, s)}, {"gateway_conf", gatewayConf(s)}}, nil)
	}
	return encodeFiles(object{{"SX1301_conf", sx1301Conf(p, prof)}, {"gateway_conf", gatewayConf(s)}},
		object{{"gateway_conf", gatewayIdentity(s)}})
}

func encodeFiles(global, local any) (Files, error) {
	g, err := encode(global)
	if err != nil {
		return nil, err
	}
	fs := Files{"global_conf.json": g}
	if local != nil {
		if fs["local_conf.json"], err = encode(local); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// comPath fills both spellings: Helium's sx1302_hal fork reads spidev_path,
// Lora-net's 2.1.0 reads com_type and com_path; each ignores the other's.
func comPath(s Site) object {
	if s.USBPath != "" {
		return object{{"com_type", "USB"}, {"com_path", s.USBPath}}
	}
	return object{{"com_type", "SPI"}, {"com_path", s.SPIPath}, {"spidev_path", s.SPIPath}}
}

func sx130xConf(p regions.Plan, prof Profile, s Site) object {
	o := append(comPath(s),
		field{"lorawan_public", true}, field{"clksrc", 0}, field{"antenna_gain", 0}, field{"full_duplex", false},
		field{"fine_timestamp", object{{"enable", false}, {"mode", "all_sf"}}})
	for i := range p.Radios {
		r := object{{"enable", true}, {"type", prof.Radio}}
		if prof.SingleInputMode {
			r = append(r, field{"single_input_mode", true})
		}
		r = append(r, field{"freq", p.Radios[i]}, field{"rssi_offset", prof.RSSIOffset}, field{"rssi_tcomp", tcomp(prof.RSSITComp)})
		r = append(r, txFields(p, i)...)
		if i == 0 {
			lut := make([]object, len(prof.TxGainLUT))
			for j, g := range prof.TxGainLUT {
				lut[j] = object{{"rf_power", g.RFPower}, {"pa_gain", g.PAGain}, {"pwr_idx", g.PwrIdx}}
			}
			r = append(r, field{"tx_gain_lut", lut})
		}
		o = append(o, field{fmt.Sprintf("radio_%d", i), r})
	}
	return append(o, channels(p)...)
}

func tcomp(t *RSSITComp) object {
	return object{{"coeff_a", t.A}, {"coeff_b", t.B}, {"coeff_c", t.C}, {"coeff_d", t.D}, {"coeff_e", t.E}}
}

// txFields: radio 0 transmits within the plan's TX range, radio 1 never.
func txFields(p regions.Plan, radio int) []field {
	if radio != 0 {
		return []field{{"tx_enable", false}}
	}
	f := []field{{"tx_enable", true}, {"tx_freq_min", p.TX[0]}, {"tx_freq_max", p.TX[1]}}
	if p.TXNotch != 0 {
		f = append(f, field{"tx_notch_freq", p.TXNotch})
	}
	return f
}

func sx1301Conf(p regions.Plan, prof Profile) object {
	o := object{{"lorawan_public", true}, {"clksrc", 1}, {"antenna_gain", 0}}
	for i := range p.Radios {
		r := object{{"enable", true}, {"type", prof.Radio}, {"freq", p.Radios[i]}, {"rssi_offset", prof.RSSIOffset}}
		o = append(o, field{fmt.Sprintf("radio_%d", i), append(r, txFields(p, i)...)})
	}
	o = append(o, channels(p)...)
	for i, g := range prof.TxLUT {
		o = append(o, field{fmt.Sprintf("tx_lut_%d", i),
			object{{"pa_gain", g.PAGain}, {"mix_gain", g.MixGain}, {"rf_power", g.RFPower}, {"dig_gain", g.DigGain}}})
	}
	return o
}

// channels renders the eight multi-SF channels, the LoRa-std and the FSK
// channel; a disabled one is {"enable": false}, which both HALs accept.
func channels(p regions.Plan) []field {
	off := object{{"enable", false}}
	var fs []field
	for i := 0; i < 8; i++ {
		var v any = off
		if i < len(p.MultiSF) {
			c := p.MultiSF[i]
			v = object{{"desc", "Lora MAC, 125kHz, all SF, " + p.Frequency(c).MHz() + " MHz"}, {"enable", true}, {"radio", c.Radio}, {"if", c.IF}}
		}
		fs = append(fs, field{fmt.Sprintf("chan_multiSF_%d", i), v})
	}
	var std, fsk any = off, off
	if c := p.Std; c != nil {
		std = object{{"enable", true}, {"radio", c.Radio}, {"if", c.IF}, {"bandwidth", c.Bandwidth}, {"spread_factor", c.SF}}
	}
	if c := p.FSK; c != nil {
		fsk = object{{"enable", true}, {"radio", c.Radio}, {"if", c.IF}, {"bandwidth", c.Bandwidth}, {"datarate", c.Datarate}}
	}
	return append(fs, field{"chan_Lora_std", std}, field{"chan_FSK", fsk})
}

func gatewayIdentity(s Site) object {
	return object{{"gateway_ID", strings.ToUpper(s.GatewayID)}, {"server_address", s.Server},
		{"serv_port_up", s.PortUp}, {"serv_port_down", s.PortDown}}
}

// gatewayConf is hm-pktfwd's gateway_conf: fake GPS at 0,0,0 so that the
// forwarder's status reports carry a position, valid CRCs only.
func gatewayConf(s Site) object {
	return append(gatewayIdentity(s),
		field{"keepalive_interval", 10}, field{"stat_interval", 30}, field{"push_timeout_ms", 100},
		field{"forward_crc_valid", true}, field{"forward_crc_error", false}, field{"forward_crc_disabled", false},
		field{"fake_gps", true}, field{"ref_latitude", 0}, field{"ref_longitude", 0}, field{"ref_altitude", 0})
}

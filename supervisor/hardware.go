package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"
	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/configs"
)

// prepareHardware requests the lines, finds the chip and the gateway EUI,
// retrying with back-off while the devices are missing or silent (state
// waiting_for_gpio, waiting_for_usb or waiting_for_spi, after the device
// in the way). It returns false when ctx ended.
func (s *Supervisor) prepareHardware(ctx context.Context) bool {
	bo := newBackoff(Seconds(s.cfg.LoraPktFwdAfterFailureSleepSeconds), s.opt.MaxBackoff)
	for {
		err := s.tryHardware(ctx)
		if err == nil {
			delete(s.logged, "hardware")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		state := s.waitingState(err)
		s.update(func(st *Status) { st.State, st.LastError = state, err.Error() })
		s.problem("hardware", err, nil)
		if !sleepCtx(ctx, bo.next()) {
			return false
		}
	}
}

func (s *Supervisor) tryHardware(ctx context.Context) error {
	if s.lines == nil {
		lines, err := s.hw.RequestLines(s.opt.SysRoot, func(how string) { s.log.Info("GPIO: ", how) })
		if err != nil {
			return err
		}
		if lines.None() {
			s.log.Info("no reset line configured (USB module, or a board without one): resets are skipped")
		}
		s.lines = lines
	}
	chip, eui, err := s.detect(ctx)
	if err != nil {
		return err
	}
	if s.chip.Model != "" && s.chip.Model != chip.Model {
		s.log.Warnf("the concentrator changed from %s to %s", s.chip.Model, chip.Model)
	}
	s.chip = chip
	s.log.WithFields(logrus.Fields{"chip": chip.Model, "bus": s.hw.Where()}).Infof("concentrator: %s on %s", chip, s.hw.Where())
	if s.eui == "" {
		if s.eui, err = s.gatewayEUI(eui); err != nil {
			return err
		}
	}
	s.update(func(st *Status) {
		st.Chip, st.ChipVersion, st.ChipDecided, st.GatewayEUI = string(chip.Model), fmt.Sprintf("0x%02X", chip.Version), chip.Decided, s.eui
	})
	return nil
}

// waitingState names what the hardware is waiting for: a GPIO fault is a
// GPIO problem whatever the bus; otherwise the concentrator's device.
func (s *Supervisor) waitingState(err error) State {
	switch {
	case errors.Is(err, concentrator.ErrGPIO):
		return StateWaitingForGPIO
	case errors.Is(err, concentrator.ErrUSBMissing), s.hw.USB:
		return StateWaitingForUSB
	}
	return StateWaitingForSPI
}

// checkDevice makes sure the concentrator's device is there when it is not
// probed; with Options.OpenSPI, opening that stands for the device.
func (s *Supervisor) checkDevice() error {
	if s.hw.USB || s.opt.OpenSPI == nil {
		return s.hw.CheckDevice()
	}
	_, c, err := s.opt.OpenSPI()
	if err != nil {
		return err
	}
	return c.Close()
}

// probes tells whether the chip is found by probing (not CHIP, not USB).
func (s *Supervisor) probes() bool {
	_, forced, _ := s.cfg.ChipModel()
	return !forced && !s.hw.USB
}

// detect finds the chip: CHIP when set, SX1302 family over USB, else a
// reset and an SPI probe. It also reads the chip EUI where offered.
func (s *Supervisor) detect(ctx context.Context) (concentrator.Chip, uint64, error) {
	m, forced, _ := s.cfg.ChipModel()
	if forced || s.hw.USB {
		if err := s.checkDevice(); err != nil {
			return concentrator.Chip{}, 0, err
		}
	}
	if forced {
		return concentrator.Chip{Model: m, Decided: "CHIP setting"}, 0, nil
	}
	if s.hw.USB {
		return concentrator.Chip{Model: concentrator.SX1302, Decided: "USB concentrators are of the SX1302 family (set CHIP=sx1303 to say which)"}, 0, nil
	}
	if !s.lines.None() {
		if err := s.lines.Start(ctx, true); err != nil {
			return concentrator.Chip{}, 0, fmt.Errorf("reset before probing: %w", err)
		}
	}
	open := s.opt.OpenSPI
	if open == nil {
		open = func() (spi.Conn, io.Closer, error) { return concentrator.OpenSPI(s.hw.Bus) }
	}
	conn, c, err := open()
	if err != nil {
		return concentrator.Chip{}, 0, err
	}
	defer c.Close()
	chip, eui, err := concentrator.Identify(conn)
	if err != nil {
		return concentrator.Chip{}, 0, fmt.Errorf("probe %s: %w", s.hw.Bus.Path(), err)
	}
	return chip, eui, nil
}

// gatewayEUI picks GATEWAY_EUI, else the default of GATEWAY_EUI_SOURCE
// (hm-pktfwd's 0000 + MAC of eth0/wlan0 unless set otherwise); never zeros.
// It is logged once.
func (s *Supervisor) gatewayEUI(chipEUI uint64) (string, error) {
	eui, from := s.cfg.GatewayEUI, "GATEWAY_EUI"
	if eui == "" {
		src, err := configs.ParseEUISource(s.cfg.GatewayEUISource)
		if err != nil {
			return "", err
		}
		lookup := s.opt.MAC
		if lookup == nil {
			lookup = configs.InterfaceMAC
		}
		if eui, from, err = configs.DefaultEUI(src, chipEUI, lookup, s.opt.Interfaces); err != nil {
			return "", err
		}
	}
	eui, err := configs.ParseEUI(eui)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	s.log.WithField("gateway_eui", eui).Infof("gateway EUI %s from %s", eui, strings.TrimPrefix(from, "the "))
	return eui, nil
}

package concentrator

import (
	"errors"
	"fmt"

	"periph.io/x/conn/v3/spi"
)

// How the probe tells the chips apart (docs/chips.md has the frames and
// registers, from Semtech's HALs):
//
// An SX1302/SX1303 register read is one 5-byte transfer: a mux byte (0x00
// targets the SX1302 itself), a 15-bit address with the write bit clear, a
// dummy byte, and the value clocked out in the fifth byte.
//
// An SX1301 reads its first byte as [write bit | 7-bit address], so the
// SX1302 frame's leading 0x00 is to it a read of address 0, and it bursts
// on: register 0 in the second byte, register 1 (the version, 0x67) in the
// third. So one SX1302 frame tells the families apart, and we send it first
// because the SX1301 frame sent to an SX1302 would be routed to its radio.
// An SX1301 answer is confirmed with a plain SX1301 read of register 1.
//
// Within the SX1302 family the version register 0x5606 reads 0x10 on SX1302
// and 0x12 on SX1303; the OTP model byte (write 0xD0 to 0x6180, read 0x6181)
// is 0x00/0x02 on SX1302 and 0x03 on SX1303. Semtech's HAL reads the OTP only
// after a full start, so right after reset it may answer nothing useful: an
// explicit model id (0x02, 0x03) decides, else the version does. The version
// is read twice; differing answers mean a noisy bus, not a chip.
//
// A bus without a chip, or a chip held in reset, answers 0x00 or 0xFF
// throughout: that is ErrNoConcentrator, never a guess.

// Register addresses and expected values.
const (
	sx1301RegVersion   = 1
	sx1301Version      = 0x67
	sx1302RegVersion   = 0x5606
	sx1302RegOTPAddr   = 0x6180
	sx1302RegOTPData   = 0x6181
	sx1302OTPModelByte = 0xD0
	sx1302Version      = 0x10
	sx1303Version      = 0x12
)

var (
	// ErrNoConcentrator means every byte read was 0x00 or 0xFF.
	ErrNoConcentrator = errors.New("no concentrator answered")
	// ErrUnrecognized means something answered, but not as a known chip.
	ErrUnrecognized = errors.New("the concentrator's answer matches no known chip")
)

// Probe reads the version registers over conn (SPI mode 0, ≤2 MHz) and
// returns the model, the raw bytes and what decided.
func Probe(conn spi.Conn) (Chip, error) {
	p := prober{conn: conn}
	rx, err := p.tx(sx1302Read(sx1302RegVersion))
	if err != nil {
		return Chip{}, err
	}
	if rx[2] == sx1301Version {
		v, err := p.sx1301Read(sx1301RegVersion)
		if err != nil {
			return Chip{}, err
		}
		if v == sx1301Version {
			return p.chip(SX1301, v, "SX1301 version register 1 = 0x67"), nil
		}
	}
	version := rx[4]
	again, err := p.sx1302Read(sx1302RegVersion)
	if err != nil {
		return Chip{}, err
	}
	if p.silent() {
		return Chip{}, fmt.Errorf("%w (every byte read 0x00 or 0xFF: no chip, a chip held in reset, or the wrong SPI bus)", ErrNoConcentrator)
	}
	if again != version {
		return Chip{}, fmt.Errorf("%w: the version register read 0x%02X then 0x%02X (a noisy bus or a loose module); raw % X", ErrUnrecognized, version, again, p.raw)
	}
	if err := p.sx1302Write(sx1302RegOTPAddr, sx1302OTPModelByte); err != nil {
		return Chip{}, err
	}
	otp, err := p.sx1302Read(sx1302RegOTPData)
	if err != nil {
		return Chip{}, err
	}
	return p.coreCell(version, otp)
}

func (p *prober) coreCell(version, otp byte) (Chip, error) {
	switch {
	case otp == 0x03 && (version == sx1302Version || version == sx1303Version):
		return p.chip(SX1303, version, fmt.Sprintf("OTP model 0x03, version 0x%02X", version)), nil
	case otp == 0x02 && (version == sx1302Version || version == sx1303Version):
		return p.chip(SX1302, version, fmt.Sprintf("OTP model 0x02, version 0x%02X", version)), nil
	case version == sx1303Version:
		return p.chip(SX1303, version, fmt.Sprintf("version 0x12 (OTP answered 0x%02X)", otp)), nil
	case version == sx1302Version:
		return p.chip(SX1302, version, fmt.Sprintf("version 0x10 (OTP answered 0x%02X)", otp)), nil
	}
	return Chip{}, fmt.Errorf("%w: an SX1302-family frame read version 0x%02X (want 0x10 or 0x12; 0x05 or 0x00 is a wedged chip that needs a reset or power cycle); raw % X",
		ErrUnrecognized, version, p.raw)
}

// Identify probes the chip and, for the SX1302 family, reads its EUI;
// eui is 0 when the chip does not offer one.
func Identify(conn spi.Conn) (chip Chip, eui uint64, err error) {
	if chip, err = Probe(conn); err != nil || !chip.Model.CoreCell() {
		return chip, 0, err
	}
	if e, ok, err := ReadEUI(conn); err == nil && ok {
		eui = e
	}
	return chip, eui, nil
}

// ReadEUI reads the SX1302/SX1303 chip EUI from OTP bytes 0–7, as the HAL's
// sx1302_get_eui does. ok is false when the OTP did not answer (all 0x00 or
// 0xFF), which is usual before the HAL has started the chip.
func ReadEUI(conn spi.Conn) (eui uint64, ok bool, err error) {
	p := prober{conn: conn}
	var zeros, ones int
	for i := 0; i < 8; i++ {
		if err := p.sx1302Write(sx1302RegOTPAddr, byte(i)); err != nil {
			return 0, false, err
		}
		b, err := p.sx1302Read(sx1302RegOTPData)
		if err != nil {
			return 0, false, err
		}
		switch b {
		case 0x00:
			zeros++
		case 0xFF:
			ones++
		}
		eui = eui<<8 | uint64(b)
	}
	return eui, zeros < 8 && ones < 8, nil
}

type prober struct {
	conn spi.Conn
	raw  []byte
}

func (p *prober) tx(w []byte) ([]byte, error) {
	r := make([]byte, len(w))
	if err := p.conn.Tx(w, r); err != nil {
		return nil, fmt.Errorf("SPI transfer on %s: %w", p.conn, err)
	}
	p.raw = append(p.raw, r...)
	return r, nil
}

func sx1302Read(addr uint16) []byte {
	return []byte{0x00, byte(addr>>8) & 0x7F, byte(addr), 0x00, 0x00}
}

func (p *prober) sx1302Read(addr uint16) (byte, error) {
	rx, err := p.tx(sx1302Read(addr))
	if err != nil {
		return 0, err
	}
	return rx[4], nil
}

func (p *prober) sx1302Write(addr uint16, v byte) error {
	_, err := p.tx([]byte{0x00, 0x80 | byte(addr>>8)&0x7F, byte(addr), v})
	return err
}

func (p *prober) sx1301Read(addr byte) (byte, error) {
	rx, err := p.tx([]byte{addr & 0x7F, 0x00})
	if err != nil {
		return 0, err
	}
	return rx[1], nil
}

func (p *prober) silent() bool {
	for _, b := range p.raw {
		if b != 0x00 && b != 0xFF {
			return false
		}
	}
	return true
}

func (p *prober) chip(m Model, v byte, decided string) Chip {
	return Chip{Model: m, Version: v, Decided: decided, Raw: append([]byte(nil), p.raw...)}
}

package concentrator

import (
	"math/rand"
	"sync"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/spi"
)

// The simulated buses below emulate the register maps of each chip, answering
// exactly the frames docs/chips.md describes. Tests and `pktfwd demo` use them in
// place of /dev/spidevX.Y.
var (
	_ spi.Conn = (*SimSX1301)(nil)
	_ spi.Conn = (*SimCoreCell)(nil)
	_ spi.Conn = (*SimBus)(nil)
)

// SimSX1301 emulates an SX1301: 7-bit addresses, burst reads and writes.
type SimSX1301 struct {
	mu   sync.Mutex
	regs [128]byte
}

// NewSimSX1301 returns an SX1301 whose version register reads 0x67.
func NewSimSX1301() *SimSX1301 {
	s := &SimSX1301{}
	s.regs[sx1301RegVersion] = sx1301Version
	return s
}

func (s *SimSX1301) String() string                 { return "simulated SX1301" }
func (s *SimSX1301) Duplex() conn.Duplex            { return conn.Full }
func (s *SimSX1301) TxPackets(p []spi.Packet) error { return txPackets(s, p) }

// Tx answers one transfer: the first byte is [write bit | address].
func (s *SimSX1301) Tx(w, r []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(w) == 0 {
		return nil
	}
	addr, write := int(w[0]&0x7F), w[0]&0x80 != 0
	for i := 1; i < len(w); i++ {
		a := (addr + i - 1) & 0x7F
		if write {
			s.regs[a] = w[i]
		} else if r != nil {
			r[i] = s.regs[a]
		}
	}
	return nil
}

// SimCoreCell emulates an SX1302 or SX1303: a mux byte, 15-bit addresses,
// a dummy byte before read data, and the OTP behind 0x6180/0x6181.
type SimCoreCell struct {
	mu       sync.Mutex
	version  byte
	otp      [256]byte
	otpReady bool
	otpAddr  byte
	regs     map[uint16]byte
}

// NewSimCoreCell returns a chip answering version (0x10 SX1302, 0x12
// SX1303) and, when otpReady, the OTP model byte and EUI.
func NewSimCoreCell(version, otpModel byte, eui uint64, otpReady bool) *SimCoreCell {
	s := &SimCoreCell{version: version, otpReady: otpReady, regs: map[uint16]byte{}}
	s.otp[sx1302OTPModelByte] = otpModel
	for i := 0; i < 8; i++ {
		s.otp[i] = byte(eui >> (56 - 8*i))
	}
	return s
}

func (s *SimCoreCell) String() string                 { return "simulated CoreCell" }
func (s *SimCoreCell) Duplex() conn.Duplex            { return conn.Full }
func (s *SimCoreCell) TxPackets(p []spi.Packet) error { return txPackets(s, p) }

// Tx answers one transfer. Frames for another mux target (the SX1250
// radios) read zeros.
func (s *SimCoreCell) Tx(w, r []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(w) < 3 || w[0] != 0x00 {
		return nil
	}
	addr := uint16(w[1]&0x7F)<<8 | uint16(w[2])
	if w[1]&0x80 != 0 {
		for i, v := range w[3:] {
			s.write(addr+uint16(i), v)
		}
		return nil
	}
	for i := 4; i < len(w) && r != nil; i++ {
		r[i] = s.read(addr + uint16(i-4))
	}
	return nil
}

func (s *SimCoreCell) write(addr uint16, v byte) {
	if addr == sx1302RegOTPAddr {
		s.otpAddr = v
	}
	s.regs[addr] = v
}

func (s *SimCoreCell) read(addr uint16) byte {
	switch addr {
	case sx1302RegVersion:
		return s.version
	case sx1302RegOTPData:
		if s.otpReady {
			return s.otp[s.otpAddr]
		}
		return 0
	}
	return s.regs[addr]
}

// SimBus is a bus with no chip (every byte Fill, as a floating or held-low
// MISO reads) or, with Noise, one that answers random bytes.
type SimBus struct {
	Fill  byte
	Noise *rand.Rand
	mu    sync.Mutex
}

func (s *SimBus) String() string                 { return "simulated empty bus" }
func (s *SimBus) Duplex() conn.Duplex            { return conn.Full }
func (s *SimBus) TxPackets(p []spi.Packet) error { return txPackets(s, p) }

// Tx fills r with Fill or noise.
func (s *SimBus) Tx(w, r []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range r {
		if s.Noise != nil {
			r[i] = byte(s.Noise.Intn(256))
		} else {
			r[i] = s.Fill
		}
	}
	return nil
}

func txPackets(c conn.Conn, ps []spi.Packet) error {
	for _, p := range ps {
		if err := c.Tx(p.W, p.R); err != nil {
			return err
		}
	}
	return nil
}

package concentrator_test

import (
	"errors"
	"math/rand"
	"strings"
	"testing"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"

	"pktfwd/concentrator"
)

func TestProbe_SimulatedChips(t *testing.T) {
	for _, tc := range []struct {
		name    string
		conn    spi.Conn
		model   concentrator.Model
		version byte
		decided string
	}{
		{"SX1301", concentrator.NewSimSX1301(), concentrator.SX1301, 0x67, "SX1301 version register"},
		{"SX1302 OTP 0x00", concentrator.NewSimCoreCell(0x10, 0x00, 0, true), concentrator.SX1302, 0x10, "version 0x10"},
		{"SX1302 OTP 0x02", concentrator.NewSimCoreCell(0x10, 0x02, 0, true), concentrator.SX1302, 0x10, "OTP model 0x02"},
		{"SX1303", concentrator.NewSimCoreCell(0x12, 0x03, 0, true), concentrator.SX1303, 0x12, "OTP model 0x03"},
		{"SX1303 OTP silent", concentrator.NewSimCoreCell(0x12, 0x03, 0, false), concentrator.SX1303, 0x12, "version 0x12"},
		{"SX1303 reading version 0x10", concentrator.NewSimCoreCell(0x10, 0x03, 0, true), concentrator.SX1303, 0x10, "OTP model 0x03"},
		{"SX1302 OTP silent", concentrator.NewSimCoreCell(0x10, 0x02, 0, false), concentrator.SX1302, 0x10, "version 0x10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := concentrator.Probe(tc.conn)
			if err != nil {
				t.Fatal(err)
			}
			if c.Model != tc.model || c.Version != tc.version {
				t.Errorf("got %s version 0x%02X, want %s 0x%02X", c.Model, c.Version, tc.model, tc.version)
			}
			if !strings.Contains(c.Decided, tc.decided) {
				t.Errorf("decided %q, want it to mention %q", c.Decided, tc.decided)
			}
			if len(c.Raw) == 0 {
				t.Error("no raw bytes recorded")
			}
		})
	}
}

func TestProbe_Failures(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn spi.Conn
		want error
		text string
	}{
		{"bus reading 0x00", &concentrator.SimBus{Fill: 0x00}, concentrator.ErrNoConcentrator, "0x00 or 0xFF"},
		{"bus reading 0xFF", &concentrator.SimBus{Fill: 0xFF}, concentrator.ErrNoConcentrator, "held in reset"},
		{"noisy bus", &concentrator.SimBus{Noise: rand.New(rand.NewSource(1))}, concentrator.ErrUnrecognized, "raw"},
		{"wedged SX1302", concentrator.NewSimCoreCell(0x05, 0x00, 0, false), concentrator.ErrUnrecognized, "0x05"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := concentrator.Probe(tc.conn)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %v", c, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not mention %q", err, tc.text)
			}
		})
	}
}

// TestProbe_SX1301Playback pins the exact frames on the wire.
func TestProbe_SX1301Playback(t *testing.T) {
	p := &spitest.Playback{Playback: conntest.Playback{Ops: []conntest.IO{
		{W: []byte{0x00, 0x56, 0x06, 0x00, 0x00}, R: []byte{0x00, 0x00, 0x67, 0x00, 0x00}},
		{W: []byte{0x01, 0x00}, R: []byte{0x00, 0x67}},
	}}}
	conn, err := p.Connect(concentrator.ProbeSpeed, spi.Mode0, 8)
	if err != nil {
		t.Fatal(err)
	}
	c, err := concentrator.Probe(conn)
	if err != nil || c.Model != concentrator.SX1301 {
		t.Fatalf("got %v, %v", c, err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

// TestProbe_SX1303Playback pins the SX1302-family frames, OTP write included.
func TestProbe_SX1303Playback(t *testing.T) {
	p := &spitest.Playback{Playback: conntest.Playback{Ops: []conntest.IO{
		{W: []byte{0x00, 0x56, 0x06, 0x00, 0x00}, R: []byte{0, 0, 0, 0, 0x12}},
		{W: []byte{0x00, 0x56, 0x06, 0x00, 0x00}, R: []byte{0, 0, 0, 0, 0x12}},
		{W: []byte{0x00, 0xE1, 0x80, 0xD0}, R: []byte{0, 0, 0, 0}},
		{W: []byte{0x00, 0x61, 0x81, 0x00, 0x00}, R: []byte{0, 0, 0, 0, 0x03}},
	}}}
	conn, _ := p.Connect(concentrator.ProbeSpeed, spi.Mode0, 8)
	c, err := concentrator.Probe(conn)
	if err != nil || c.Model != concentrator.SX1303 {
		t.Fatalf("got %v, %v", c, err)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

func TestReadEUI(t *testing.T) {
	eui, ok, err := concentrator.ReadEUI(concentrator.NewSimCoreCell(0x10, 0, 0x0016C001FF10A235, true))
	if err != nil || !ok || eui != 0x0016C001FF10A235 {
		t.Errorf("got %016X %v %v", eui, ok, err)
	}
	if _, ok, _ := concentrator.ReadEUI(concentrator.NewSimCoreCell(0x10, 0, 0x0016C001FF10A235, false)); ok {
		t.Error("an OTP that does not answer gave an EUI")
	}
}

func TestIdentify(t *testing.T) {
	chip, eui, err := concentrator.Identify(concentrator.NewSimCoreCell(0x12, 0x03, 0x0016C001FF1E2D3C, true))
	if err != nil || chip.Model != concentrator.SX1303 || eui != 0x0016C001FF1E2D3C {
		t.Errorf("got %v %016X %v", chip, eui, err)
	}
	if _, eui, err := concentrator.Identify(concentrator.NewSimSX1301()); err != nil || eui != 0 {
		t.Errorf("SX1301: eui %016X, %v", eui, err)
	}
}

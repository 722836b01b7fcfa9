package fakefwd

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"
)

// concentrator simulates the chip behind the forwarder: its 1 MHz counter,
// the packets it receives, and the failures the supervisor's watchdog looks
// for (docs/forwarder-stats.md). Its mutex is the forwarder's concentrator
// lock: a radio thread that hangs while holding it stops everything that
// reads the chip, as in the real forwarder.
type concentrator struct {
	mu sync.Mutex

	start        time.Time     // lgw_start
	freezeAfter  time.Duration // the counter stops moving (<0: never)
	unknownAfter time.Duration // the counter reads fail (<0: never)
	latched      uint32        // SX1301: the trigger counter, latched by timersync
	rxEvery      time.Duration // 0: no packet is received
	delivered    int
	channels     []channelConf
	rng          *rand.Rand
	fcnt         uint16
	tempC        float64
}

// rxPacket is one received packet with the metadata the forwarder sends.
type rxPacket struct {
	countUS     uint32
	channel     channelConf
	sf          int
	crcOK       bool
	rssis, rssi int
	lsnr        float64
	foff        int
	payload     []byte
	devAddr     uint32
	fcnt        uint16
}

// counter reads the chip's counter; ok is false when the read fails.
// The caller holds c.mu.
func (c *concentrator) counter(now time.Time) (v uint32, ok bool) {
	since := now.Sub(c.start)
	if c.unknownAfter >= 0 && since >= c.unknownAfter {
		return 0, false
	}
	if c.freezeAfter >= 0 && since >= c.freezeAfter {
		return uint32(c.freezeAfter.Microseconds()), true
	}
	return uint32(since.Microseconds()), true
}

// receive returns the packets that arrived since the last call, one every
// rxEvery from the start, up to the 255 of one fetch. The caller holds c.mu.
func (c *concentrator) receive(now time.Time) []rxPacket {
	if c.rxEvery <= 0 || len(c.channels) == 0 {
		return nil
	}
	due := int(now.Sub(c.start) / c.rxEvery)
	var pkts []rxPacket
	for c.delivered < due && len(pkts) < 255 {
		c.delivered++
		at := c.start.Add(time.Duration(c.delivered) * c.rxEvery)
		pkts = append(pkts, c.packet(uint32(at.Sub(c.start).Microseconds())))
	}
	return pkts
}

// packet makes an unconfirmed LoRaWAN uplink from one of a few motes.
func (c *concentrator) packet(countUS uint32) rxPacket {
	r := c.rng
	c.fcnt++
	p := rxPacket{
		countUS: countUS, channel: c.channels[r.IntN(len(c.channels))], sf: 7 + r.IntN(6), crcOK: true,
		rssi: -50 - r.IntN(60), lsnr: float64(r.IntN(200)-120) / 10, foff: r.IntN(900) - 450,
		devAddr: 0x26011001 + uint32(r.IntN(8)), fcnt: c.fcnt,
	}
	p.rssis = p.rssi - r.IntN(4)
	frm := make([]byte, 4+r.IntN(12))
	for i := range frm {
		frm[i] = byte(r.Uint32())
	}
	pl := []byte{0x40, 0, 0, 0, 0, 0, 0, 0, 1} // MHDR unconfirmed up, DevAddr, FCtrl, FCnt, FPort
	binary.LittleEndian.PutUint32(pl[1:], p.devAddr)
	binary.LittleEndian.PutUint16(pl[6:], p.fcnt)
	pl = append(pl, frm...)
	pl = binary.LittleEndian.AppendUint32(pl, r.Uint32()) // MIC
	p.payload = pl
	return p
}

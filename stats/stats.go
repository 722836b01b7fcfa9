// Package stats reads the statistics blocks that lora_pkt_fwd prints every
// stat_interval seconds, for both forwarder families (SX1302/SX1303 and
// SX1301). The format, and what may be missing or interleaved, is written
// down in docs/forwarder-stats.md.
//
// A Parser is fed the forwarder's output one line at a time and returns a
// Block when a block's END line arrives. It keeps no line, so its memory is
// the same whatever it is fed; lines it does not know are ignored, and a
// malformed line leaves its figure unknown.
package stats

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Family is the forwarder family a block came from, told by the lines only
// one family prints.
type Family uint8

// The families.
const (
	FamilyUnknown Family = iota
	FamilySX1302         // SX1302 and SX1303 builds (sx1302_hal)
	FamilySX1301         // SX1301 builds (packet_forwarder)
)

func (f Family) String() string {
	switch f {
	case FamilySX1302:
		return "sx1302"
	case FamilySX1301:
		return "sx1301"
	}
	return "unknown"
}

// Field names one line of a block; Block.Has tells which were read.
type Field uint16

// The lines a block may hold.
const (
	FieldReceived  Field = 1 << iota // # RF packets received by concentrator
	FieldCRC                         // # CRC_OK: …, CRC_FAIL: …, NO_CRC: …
	FieldForwarded                   // # RF packets forwarded
	FieldPushSent                    // # PUSH_DATA datagrams sent
	FieldPushAck                     // # PUSH_DATA acknowledged
	FieldPull                        // # PULL_DATA sent (… acknowledged)
	FieldPullResp                    // # PULL_RESP(onse) datagrams received
	FieldDownlinks                   // # RF packets sent to concentrator
	FieldTXErrors                    // # TX errors
	FieldCounter                     // # SX1302 counter … / # SX1301 time (PPS)
	FieldTemp                        // ### Concentrator temperature … ###
)

// Block is one complete statistics block. Counts are for the interval the
// block covers, not cumulative. Percentages are as printed (0 to 100 in practice). A figure whose
// line was missing or malformed is zero and its Field is not in Has.
type Block struct {
	Time   time.Time // from the header, UTC; zero when it did not parse
	Family Family
	Has    Field

	Received              uint32
	CRCOK, CRCFail, NoCRC float64 // percent of Received
	Forwarded, FwdBytes   uint32
	PushSent, PushBytes   uint32
	PushAck               float64 // percent of PushSent acknowledged
	PullSent              uint32
	PullAck               float64 // percent of PullSent acknowledged
	PullResp, PullBytes   uint32
	Downlinks, DownBytes  uint32 // RF packets sent to the concentrator
	TXErrors              uint32

	// CounterKnown tells whether Counter holds a value: the SX1302's 1 MHz
	// counter (INST), or the SX1301's latched PPS time. With FieldCounter
	// in Has and CounterKnown false, the forwarder printed "unknown".
	CounterKnown bool
	Counter      uint32
	CounterPPS   uint32 // SX1302 only: the counter latched at the last PPS

	// TempKnown tells whether TempC holds the concentrator's temperature
	// (SX1302 family; whole degrees). With FieldTemp in Has and TempKnown
	// false, the forwarder printed "unknown".
	TempKnown bool
	TempC     float64
}

// Parser turns lines into blocks. The zero value is ready to use; it is
// not safe for concurrent use.
type Parser struct {
	cur Block
	in  bool // a header was read and END not yet
}

const (
	header    = "##### "
	headerEnd = " #####"
	timeFmt   = "2006-01-02 15:04:05 MST"
)

// Line feeds one line of output (with or without its line ending) and
// returns the block it completes, if any.
func (p *Parser) Line(line string) (Block, bool) {
	line = strings.TrimRight(line, "\r\n \t")
	if !strings.HasPrefix(line, "#") {
		return Block{}, false // log lines of other threads, JIT queue lines
	}
	if strings.HasPrefix(line, header) && strings.HasSuffix(line, headerEnd) && len(line) >= len(header)+len(headerEnd)+3 {
		inner := line[len(header) : len(line)-len(headerEnd)]
		if inner == "END" {
			b, ok := p.cur, p.in
			p.cur, p.in = Block{}, false
			return b, ok
		}
		p.cur, p.in = Block{}, true
		if t, err := time.Parse(timeFmt, inner); err == nil {
			p.cur.Time = t.UTC()
		}
		return Block{}, false
	}
	if p.in {
		p.cur.read(line)
	}
	return Block{}, false
}

// read fills in the figure of one line of a block.
func (b *Block) read(line string) {
	var n [3]string
	switch {
	case cut(line, "# RF packets received by concentrator:", n[:1]):
		b.setCount(FieldReceived, n[0], &b.Received)
	case cut(line, "# CRC_OK:", n[:3]):
		ok, e1 := percent(n[0])
		fail, e2 := percent(n[1])
		none, e3 := percent(n[2])
		if e1 && e2 && e3 {
			b.CRCOK, b.CRCFail, b.NoCRC = ok, fail, none
			b.Has |= FieldCRC
		}
	case cut(line, "# RF packets forwarded:", n[:2]):
		b.setPair(FieldForwarded, n, &b.Forwarded, &b.FwdBytes)
	case cut(line, "# PUSH_DATA datagrams sent:", n[:2]):
		b.setPair(FieldPushSent, n, &b.PushSent, &b.PushBytes)
	case cut(line, "# PUSH_DATA acknowledged:", n[:1]):
		if v, ok := percent(n[0]); ok {
			b.PushAck, b.Has = v, b.Has|FieldPushAck
		}
	case cut(line, "# PULL_DATA sent:", n[:2]):
		c, ok1 := count(n[0])
		v, ok2 := percent(n[1])
		if ok1 && ok2 {
			b.PullSent, b.PullAck, b.Has = c, v, b.Has|FieldPull
		}
	case cut(line, "# PULL_RESP(onse) datagrams received:", n[:2]):
		b.setPair(FieldPullResp, n, &b.PullResp, &b.PullBytes)
	case cut(line, "# RF packets sent to concentrator:", n[:2]):
		b.setPair(FieldDownlinks, n, &b.Downlinks, &b.DownBytes)
	case cut(line, "# TX errors:", n[:1]):
		b.setCount(FieldTXErrors, n[0], &b.TXErrors)
	case line == "### SX1302 Status ###":
		b.Family = FamilySX1302
	case line == "# SX1302 counter unknown":
		b.Family, b.CounterKnown, b.Has = FamilySX1302, false, b.Has|FieldCounter
	case cut(line, "# SX1302 counter (INST):", n[:1]):
		b.Family = FamilySX1302
		b.setCount(FieldCounter, n[0], &b.Counter)
		b.CounterKnown = b.Has&FieldCounter != 0
	case cut(line, "# SX1302 counter (PPS):", n[:1]):
		b.CounterPPS, _ = count(n[0])
	case strings.HasPrefix(line, "# SX1301 time (PPS):"):
		b.Family = FamilySX1301
		if strings.HasSuffix(line, "unknown") {
			b.CounterKnown, b.Has = false, b.Has|FieldCounter
		} else if cut(line, "# SX1301 time (PPS):", n[:1]) {
			b.setCount(FieldCounter, n[0], &b.Counter)
			b.CounterKnown = b.Has&FieldCounter != 0
		}
	case line == "### Concentrator temperature unknown ###":
		b.Family, b.TempKnown, b.Has = FamilySX1302, false, b.Has|FieldTemp
	case strings.HasPrefix(line, "### Concentrator temperature:") && strings.HasSuffix(line, " C ###"):
		v := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "### Concentrator temperature:"), " C ###"))
		if t, err := strconv.ParseFloat(v, 64); err == nil && t > -300 && t < 1000 {
			b.Family, b.TempKnown, b.TempC, b.Has = FamilySX1302, true, t, b.Has|FieldTemp
		}
	}
}

func (b *Block) setCount(f Field, s string, dst *uint32) {
	if v, ok := count(s); ok {
		*dst, b.Has = v, b.Has|f
	}
}

func (b *Block) setPair(f Field, n [3]string, first, second *uint32) {
	v1, ok1 := count(n[0])
	v2, ok2 := count(n[1])
	if ok1 && ok2 {
		*first, *second, b.Has = v1, v2, b.Has|f
	}
}

// cut reports whether line starts with prefix and is followed by exactly
// len(dst) numbers, which it stores in dst.
func cut(line, prefix string, dst []string) bool {
	if !strings.HasPrefix(line, prefix) {
		return false
	}
	rest := line[len(prefix):]
	for i := range dst {
		var ok bool
		if dst[i], rest, ok = nextNumber(rest); !ok {
			return false
		}
	}
	_, _, more := nextNumber(rest)
	return !more
}

// nextNumber finds the next decimal number (digits, an optional fraction)
// in s; a minus sign directly before it belongs to it.
func nextNumber(s string) (num, rest string, ok bool) {
	i := strings.IndexAny(s, "0123456789")
	if i < 0 {
		return "", "", false
	}
	start := i
	if i > 0 && s[i-1] == '-' {
		start = i - 1
	}
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	return s[start:i], s[i:], true
}

// count reads a %u value.
func count(s string) (uint32, bool) {
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

// percent reads a %.2f percentage.
func percent(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0
}

// Totals adds blocks up: the running totals since the first block.
// Acknowledged and CRC-OK counts are worked out from the percentages.
type Totals struct {
	Blocks    uint64 `json:"blocks"`
	Received  uint64 `json:"received"`
	CRCOK     uint64 `json:"crc_ok"`
	Forwarded uint64 `json:"forwarded"`
	PushSent  uint64 `json:"push_data_sent"`
	PushAcked uint64 `json:"push_data_acked"`
	PullSent  uint64 `json:"pull_data_sent"`
	PullAcked uint64 `json:"pull_data_acked"`
	Downlinks uint64 `json:"downlinks_sent"`
	TXErrors  uint64 `json:"tx_errors"`
}

// Add counts one block in.
func (t *Totals) Add(b Block) {
	t.Blocks++
	t.Received += uint64(b.Received)
	t.CRCOK += share(b.Received, b.CRCOK)
	t.Forwarded += uint64(b.Forwarded)
	t.PushSent += uint64(b.PushSent)
	t.PushAcked += share(b.PushSent, b.PushAck)
	t.PullSent += uint64(b.PullSent)
	t.PullAcked += share(b.PullSent, b.PullAck)
	t.Downlinks += uint64(b.Downlinks)
	t.TXErrors += uint64(b.TXErrors)
}

// share is pct percent of n, rounded to the nearest whole number.
func share(n uint32, pct float64) uint64 {
	return uint64(math.Round(float64(n) * pct / 100))
}

// PushAckPercent is the share of all PUSH_DATA acknowledged, 0 when none
// was sent.
func (t Totals) PushAckPercent() float64 { return ratio(t.PushAcked, t.PushSent) }

// PullAckPercent is the share of all PULL_DATA acknowledged, 0 when none
// was sent.
func (t Totals) PullAckPercent() float64 { return ratio(t.PullAcked, t.PullSent) }

func ratio(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(10000*float64(part)/float64(whole)) / 100
}

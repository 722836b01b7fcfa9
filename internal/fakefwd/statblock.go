package fakefwd

import (
	"fmt"
	"io"
	"time"
)

// StatBlock holds the figures of one statistics block as the real
// forwarder prints them: counts for one interval, percentages with two
// decimals. The layout is described in docs/forwarder-stats.md.
type StatBlock struct {
	Time                  time.Time
	SX1302                bool // SX1302/SX1303 layout, else SX1301
	Received              uint32
	CRCOK, CRCFail, NoCRC float64
	Forwarded, FwdBytes   uint32
	PushSent, PushBytes   uint32
	PushAck               float64
	PullSent              uint32
	PullAck               float64
	PullResp, PullBytes   uint32
	Downlinks, DownBytes  uint32
	TXErrors              uint32
	// Downlinks asked for and refused since the start (not per interval,
	// as in the real forwarder); the TX rejected lines appear once
	// TXRequested is not 0.
	TXRequested                   uint32
	RejCollision, RejCollisionBcn uint32
	RejTooLate, RejTooEarly       uint32
	CounterUnknown                bool
	Counter, CounterPPS           uint32
	Queues                        [2][]JITNode // SX1301: Queues[0] only
	FakeGPS                       bool         // `# GPS *FAKE* coordinates` instead of `# GPS sync is disabled`
	Lat, Lon                      float64
	Alt                           int
	TempUnknown                   bool
	TempC                         float64
}

// JITNode is a downlink waiting in a JIT queue.
type JITNode struct {
	CountUS uint32
	Type    int
}

// WriteStatBlock prints b with the printf formats of the real forwarders:
// sx1302_hal 2.1.0 for the SX1302 layout, packet_forwarder 4.0.1 for the
// SX1301 one.
func WriteStatBlock(w io.Writer, b StatBlock) {
	writeStatHead(w, b)
	writeStatTail(w, b)
}

// writeStatHead prints the block up to the line after which the real
// forwarder reads the chip under the concentrator lock: `### SX1302
// Status ###` (SX1302) or `### [JIT] ###` (SX1301).
func writeStatHead(w io.Writer, b StatBlock) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n##### %s #####\n", statTime(b.Time))
	p("### [UPSTREAM] ###\n")
	p("# RF packets received by concentrator: %d\n", b.Received)
	p("# CRC_OK: %.2f%%, CRC_FAIL: %.2f%%, NO_CRC: %.2f%%\n", b.CRCOK, b.CRCFail, b.NoCRC)
	p("# RF packets forwarded: %d (%d bytes)\n", b.Forwarded, b.FwdBytes)
	p("# PUSH_DATA datagrams sent: %d (%d bytes)\n", b.PushSent, b.PushBytes)
	p("# PUSH_DATA acknowledged: %.2f%%\n", b.PushAck)
	p("### [DOWNSTREAM] ###\n")
	p("# PULL_DATA sent: %d (%.2f%% acknowledged)\n", b.PullSent, b.PullAck)
	p("# PULL_RESP(onse) datagrams received: %d (%d bytes)\n", b.PullResp, b.PullBytes)
	p("# RF packets sent to concentrator: %d (%d bytes)\n", b.Downlinks, b.DownBytes)
	p("# TX errors: %d\n", b.TXErrors)
	if r := b.TXRequested; r != 0 {
		pct := func(n uint32) float64 { return 100 * float64(n) / float64(r) }
		p("# TX rejected (collision packet): %.2f%% (req:%d, rej:%d)\n", pct(b.RejCollision), r, b.RejCollision)
		p("# TX rejected (collision beacon): %.2f%% (req:%d, rej:%d)\n", pct(b.RejCollisionBcn), r, b.RejCollisionBcn)
		p("# TX rejected (too late): %.2f%% (req:%d, rej:%d)\n", pct(b.RejTooLate), r, b.RejTooLate)
		p("# TX rejected (too early): %.2f%% (req:%d, rej:%d)\n", pct(b.RejTooEarly), r, b.RejTooEarly)
	}
	if b.SX1302 {
		p("### SX1302 Status ###\n")
		return
	}
	p("# BEACON queued: %d\n", 0)
	p("# BEACON sent so far: %d\n", 0)
	p("# BEACON rejected: %d\n", 0)
	p("### [JIT] ###\n")
}

// writeStatTail prints the rest of the block, from the chip's counter on.
func writeStatTail(w io.Writer, b StatBlock) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	if b.SX1302 {
		if b.CounterUnknown {
			p("# SX1302 counter unknown\n")
		} else {
			p("# SX1302 counter (INST): %d\n", b.Counter)
			p("# SX1302 counter (PPS):  %d\n", b.CounterPPS)
		}
		p("# BEACON queued: %d\n", 0)
		p("# BEACON sent so far: %d\n", 0)
		p("# BEACON rejected: %d\n", 0)
		p("### [JIT] ###\n")
		writeJITQueue(w, 440, b.Queues[0])
		p("#--------\n")
		writeJITQueue(w, 440, b.Queues[1])
	} else {
		if b.CounterUnknown {
			p("# SX1301 time (PPS): unknown\n")
		} else {
			p("# SX1301 time (PPS): %d\n", b.Counter)
		}
		writeJITQueue(w, 448, b.Queues[0])
	}
	p("### [GPS] ###\n")
	if b.FakeGPS {
		p("# GPS *FAKE* coordinates: latitude %.5f, longitude %.5f, altitude %d m\n", b.Lat, b.Lon, b.Alt)
	} else {
		p("# GPS sync is disabled\n")
	}
	if b.SX1302 {
		if b.TempUnknown {
			p("### Concentrator temperature unknown ###\n")
		} else {
			p("### Concentrator temperature: %.0f C ###\n", b.TempC)
		}
	}
	p("##### END #####\n")
}

// writeJITQueue prints jit_print_queue's debug lines; line is where the
// "queue is empty" line sits in the family's jitqueue.c (the real lines
// carry that prefix).
func writeJITQueue(w io.Writer, line int, q []JITNode) {
	pre := func(l int) string { return fmt.Sprintf("%s:%d:jit_print_queue(): ", jitPrintPrefix, l) }
	if len(q) == 0 {
		fmt.Fprintf(w, "%sINFO: [jit] queue is empty\n", pre(line))
		return
	}
	fmt.Fprintf(w, "%sINFO: [jit] queue contains %d packets:\n", pre(line+4), len(q))
	fmt.Fprintf(w, "%sINFO: [jit] queue contains %d beacons:\n", pre(line+5), 0)
	for i, n := range q {
		fmt.Fprintf(w, "%s - node[%d]: count_us=%d - type=%d\n", pre(line+8), i, n.CountUS, n.Type)
	}
}

// statTime is strftime("%F %T %Z") of gmtime, as the forwarders print it.
func statTime(t time.Time) string {
	return t.UTC().Format(time.DateTime) + " GMT"
}

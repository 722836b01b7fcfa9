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
	CounterUnknown        bool
	Counter, CounterPPS   uint32
	TempUnknown           bool
	TempC                 float64
}

// WriteStatBlock prints b with the printf formats of the real forwarders:
// sx1302_hal 2.1.0 for the SX1302 layout, packet_forwarder 4.0.1 for the
// SX1301 one.
func WriteStatBlock(w io.Writer, b StatBlock) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n##### %s #####\n", b.Time.UTC().Format("2006-01-02 15:04:05 MST"))
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
	if b.Downlinks > 0 {
		p("# TX rejected (collision packet): %.2f%% (req:%d, rej:%d)\n", 0.0, b.Downlinks, 0)
		p("# TX rejected (collision beacon): %.2f%% (req:%d, rej:%d)\n", 0.0, b.Downlinks, 0)
		p("# TX rejected (too late): %.2f%% (req:%d, rej:%d)\n", 0.0, b.Downlinks, 0)
		p("# TX rejected (too early): %.2f%% (req:%d, rej:%d)\n", 0.0, b.Downlinks, 0)
	}
	if b.SX1302 {
		p("### SX1302 Status ###\n")
		if b.CounterUnknown {
			p("# SX1302 counter unknown\n")
		} else {
			p("# SX1302 counter (INST): %d\n", b.Counter)
			p("# SX1302 counter (PPS):  %d\n", b.CounterPPS)
		}
	}
	p("# BEACON queued: %d\n", 0)
	p("# BEACON sent so far: %d\n", 0)
	p("# BEACON rejected: %d\n", 0)
	p("### [JIT] ###\n")
	if b.SX1302 {
		p("src/jitqueue.c:440:jit_print_queue(): INFO: [jit] queue is empty\n#--------\n")
		p("src/jitqueue.c:440:jit_print_queue(): INFO: [jit] queue is empty\n")
	} else {
		if b.CounterUnknown {
			p("# SX1301 time (PPS): unknown\n")
		} else {
			p("# SX1301 time (PPS): %d\n", b.Counter)
		}
		p("src/jitqueue.c:448:jit_print_queue(): INFO: [jit] queue is empty\n")
	}
	p("### [GPS] ###\n")
	p("# GPS sync is disabled\n")
	if b.SX1302 {
		if b.TempUnknown {
			p("### Concentrator temperature unknown ###\n")
		} else {
			p("### Concentrator temperature: %.0f C ###\n", b.TempC)
		}
	}
	p("##### END #####\n")
}

package fakefwd

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// radio simulates what the forwarder reports about its concentrator in
// its statistics blocks, and the failures the supervisor's watchdog looks
// for (docs/forwarder-stats.md).
type simRadio struct {
	coreCell                     bool
	every                        time.Duration
	start                        time.Time
	stallAt, freezeAt, unknownAt time.Time // zero: never
	frozen                       uint32
	noack, silent                bool
	blocks                       int
}

func newRadio(mode, arg string, coreCell bool, every time.Duration) *simRadio {
	r := &simRadio{coreCell: coreCell, every: every, start: time.Now()}
	after := func() time.Time {
		d, _ := time.ParseDuration(arg)
		return r.start.Add(d)
	}
	switch mode {
	case "stall":
		r.stallAt = after()
	case "freeze-counter":
		r.freezeAt = after()
	case "counter-unknown":
		r.unknownAt = after()
	case "noack":
		r.noack = true
	case "silent":
		r.silent = true
	}
	return r
}

// stat prints the block of the interval that just ended. It returns true
// when the forwarder stalls in it: the block is cut short where a real
// forwarder waits for its hung chip.
func (r *simRadio) stat(out io.Writer) bool {
	now := time.Now()
	b := StatBlock{Time: now, SX1302: r.coreCell, TempC: 41}
	if !r.silent {
		b.Received = uint32(2 + r.blocks%3)
		b.CRCOK, b.Forwarded, b.FwdBytes = 100, b.Received, 20*b.Received
	}
	b.PushSent, b.PushBytes = b.Received+1, 230*(b.Received+1) // the packets and the stat report
	if !r.noack {
		b.PushAck = 100
	}
	if r.blocks == 0 {
		b.PullSent, b.PullAck = 1, b.PushAck
	}
	b.Counter = uint32(now.Sub(r.start).Microseconds())
	switch {
	case !r.unknownAt.IsZero() && now.After(r.unknownAt):
		b.CounterUnknown = true
	case !r.freezeAt.IsZero() && now.After(r.freezeAt):
		if r.frozen == 0 {
			r.frozen = uint32(r.freezeAt.Sub(r.start).Microseconds())
		}
		b.Counter = r.frozen
	}
	r.blocks++
	var buf bytes.Buffer
	WriteStatBlock(&buf, b)
	if r.stallAt.IsZero() || now.Before(r.stallAt) {
		out.Write(buf.Bytes())
		return false
	}
	cut := "### [JIT] ###\n"
	if r.coreCell {
		cut = "### SX1302 Status ###\n"
	}
	text := buf.String()
	io.WriteString(out, text[:strings.Index(text, cut)+len(cut)])
	return true
}

// stall hangs for good, as a forwarder whose radio thread holds the
// concentrator lock: SIGTERM and SIGINT do nothing, only SIGKILL ends it.
func stall(sigs chan os.Signal) {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	signal.Stop(sigs)
	for {
		time.Sleep(time.Hour)
	}
}

package fakefwd

import (
	"bytes"
	"fmt"
	"time"
)

// txTotals are the downlink requests and rejections since the start.
type txTotals struct {
	requested, collision, tooLate, tooEarly uint32
}

// statBlock is the main thread's work once per interval: it takes and
// resets the counters, prints the block, reading the chip under the
// concentrator lock partway through (a hung radio thread stops it there),
// and leaves the stat report for the upstream thread.
func (f *forwarder) statBlock() {
	now := time.Now()
	b := StatBlock{Time: now, SX1302: f.cfg.coreCell, FakeGPS: f.cfg.fakeGPS, Lat: f.cfg.lat, Lon: f.cfg.lon, Alt: f.cfg.alt}
	f.up.mu.Lock()
	u := f.up.upCounts
	f.up.upCounts = upCounts{}
	f.up.mu.Unlock()
	b.Received, b.Forwarded, b.FwdBytes, b.PushSent, b.PushBytes = u.rxRcv, u.fwd, u.payloadBytes, u.dgramSent, u.networkBytes
	b.CRCOK, b.CRCFail = percent(u.rxOK, u.rxRcv), percent(u.rxBad, u.rxRcv)
	b.PushAck = percent(u.ackRcv, u.dgramSent)

	f.dw.mu.Lock()
	d := f.dw.dwCounts
	f.dw.dwCounts = dwCounts{}
	f.dw.mu.Unlock()
	f.total.requested += d.txRequested
	f.total.collision += d.rejCollision
	f.total.tooLate += d.rejTooLate
	f.total.tooEarly += d.rejTooEarly
	b.PullSent, b.PullAck = d.pullSent, percent(d.ackRcv, d.pullSent)
	b.PullResp, b.PullBytes = d.dgramRcv, d.networkBytes
	b.Downlinks, b.DownBytes, b.TXErrors = d.txOK+d.txFail, d.payloadBytes, d.txFail
	b.TXRequested, b.RejCollision, b.RejTooLate, b.RejTooEarly = f.total.requested, f.total.collision, f.total.tooLate, f.total.tooEarly
	b.Queues[0], b.Queues[1] = f.jit.queued(0), f.jit.queued(1)

	var buf bytes.Buffer
	writeStatHead(&buf, b)
	f.out.Write(buf.Bytes())
	f.chip.mu.Lock()
	cnt, ok := f.chip.counter(time.Now())
	if f.family1301() && ok {
		cnt = f.chip.latched
	}
	f.chip.mu.Unlock()
	b.Counter, b.CounterUnknown, b.TempC = cnt, !ok, f.chip.tempC
	buf.Reset()
	writeStatTail(&buf, b)
	f.out.Write(buf.Bytes())

	f.report.mu.Lock()
	f.report.text = f.statReport(b, u.rxOK, d.txOK)
	f.report.mu.Unlock()
}

// percent is the real forwarder's ratio: a float division, 0 when
// nothing was counted.
func percent(n, of uint32) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(float32(n)/float32(of))
}

// statReport is the "stat" object of the next PUSH_DATA, in the family's
// format: coordinates only with fake_gps, temperature only on SX1302.
func (f *forwarder) statReport(b StatBlock, rxOK, txOK uint32) string {
	s := fmt.Sprintf(`"stat":{"time":"%s"`, statTime(b.Time))
	if b.FakeGPS {
		s += fmt.Sprintf(`,"lati":%.5f,"long":%.5f,"alti":%d`, b.Lat, b.Lon, b.Alt)
	}
	s += fmt.Sprintf(`,"rxnb":%d,"rxok":%d,"rxfw":%d,"ackr":%.1f,"dwnb":%d,"txnb":%d`, b.Received, rxOK, b.Forwarded, b.PushAck, b.PullResp, txOK)
	if b.SX1302 {
		s += fmt.Sprintf(`,"temp":%.1f`, b.TempC)
	}
	return s + "}"
}

// timersync is the SX1301 forwarders' clock thread: at the start and then
// every 60 s it latches the concentrator counter (what the stat block
// shows as `SX1301 time (PPS)`) and prints the host/counter offset and its
// drift. It is cancelled at exit without a word.
func (f *forwarder) timersync() {
	var prev time.Duration
	for {
		f.out.printf("\nINFO: Disabling GPS mode for concentrator's counter...\n")
		f.chip.mu.Lock()
		unix := time.Now()
		cnt, _ := f.chip.counter(unix)
		f.chip.latched = cnt
		f.chip.mu.Unlock()
		offset := time.Duration(unix.UnixMicro()-int64(cnt)) * time.Microsecond
		drift := offset - prev
		prev = offset
		sec := offset / time.Second
		f.out.printf("INFO: host/sx1301 time offset=(%ds:%dµs) - drift=%dµs\n", int64(sec), (offset - sec*time.Second).Microseconds(), drift.Microseconds())
		f.out.printf("INFO: Enabling GPS mode for concentrator's counter.\n\n")
		select {
		case <-f.exit:
			return
		case <-time.After(time.Minute):
		}
	}
}

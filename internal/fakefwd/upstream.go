package fakefwd

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
)

// upMeas are the upstream counters of one stat interval.
type upMeas struct {
	mu sync.Mutex
	upCounts
}

type upCounts struct {
	rxRcv, rxOK, rxBad, fwd    uint32
	payloadBytes, networkBytes uint32
	dgramSent, ackRcv          uint32
}

// fetchSleep is the pause of the real radio thread when a fetch brings
// nothing and no stat report waits.
const fetchSleep = 10 * time.Millisecond

// upstream is the forwarder's radio thread: it fetches packets under the
// concentrator lock, sends them and the stat reports as PUSH_DATA, and
// waits for each PUSH_ACK.
func (f *forwarder) upstream() {
	defer f.wg.Done()
	defer close(f.upDone)
	ack := make([]byte, 32)
	for !f.exiting() {
		f.chip.mu.Lock()
		if f.stallDue() {
			f.hang() // holds the concentrator lock for good
		}
		if !f.fetchFailAt.IsZero() && !time.Now().Before(f.fetchFailAt) {
			f.fetchFails() // exits
		}
		pkts := f.chip.receive(time.Now())
		f.chip.mu.Unlock()
		report := f.takeReport()
		if len(pkts) == 0 && report == "" {
			time.Sleep(fetchSleep)
			continue
		}
		token := uint16(rand.Uint32())
		d := header(pushData, token, f.cfg.gatewayID)
		d = append(d, f.pushJSON(pkts, report)...)
		if len(d) == 12 { // every packet filtered out and no report
			continue
		}
		f.out.printf("\nJSON up: %s\n", d[12:])
		f.upConn.Write(d)
		sent := time.Now()
		f.up.mu.Lock()
		f.up.dgramSent++
		f.up.networkBytes += uint32(len(d))
		f.awaitPushAck(token, sent, ack)
		f.up.mu.Unlock()
	}
	f.out.printf("\nINFO: End of upstream thread\n")
}

// awaitPushAck waits for the PUSH_ACK as the real forwarder does: two
// reads of half push_timeout_ms each. A datagram that is not a PUSH_ACK
// or carries another token uses up one read; a socket error (no server:
// connection refused) ends the wait. A later ack counts for nothing. The
// caller holds f.up.mu.
func (f *forwarder) awaitPushAck(token uint16, sent time.Time, buf []byte) {
	for range 2 {
		f.upConn.SetReadDeadline(time.Now().Add(f.cfg.pushTO / 2))
		n, err := f.upConn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return
		}
		if valid, match := isAck(buf[:n], pushAck, token); !valid || !match || f.noack {
			continue
		}
		f.out.printf("INFO: [up] PUSH_ACK received in %d ms\n", time.Since(sent).Milliseconds())
		f.up.ackRcv++
		return
	}
}

// pushJSON serialises packets and a pending stat report with the real
// forwarder's printf formats, counting and logging each packet. It
// returns nothing when there is nothing to send.
func (f *forwarder) pushJSON(pkts []rxPacket, report string) []byte {
	var b strings.Builder
	b.WriteString(`{"rxpk":[`)
	n := 0
	for _, p := range pkts {
		f.up.mu.Lock()
		f.up.rxRcv++
		if p.crcOK {
			f.up.rxOK++
		} else {
			f.up.rxBad++
		}
		skip := !p.crcOK && !f.cfg.forwardBad
		if !skip {
			f.up.fwd++
			f.up.payloadBytes += uint32(len(p.payload))
		}
		f.up.mu.Unlock()
		if skip {
			continue
		}
		f.out.printf("\nINFO: Received pkt from mote: %08X (fcnt=%d)\n", p.devAddr, p.fcnt)
		if n > 0 {
			b.WriteString(",")
		}
		n++
		writeRxpk(&b, p)
	}
	switch {
	case n == 0 && report == "":
		return nil
	case n == 0:
		return []byte("{" + report + "}")
	case report != "":
		b.WriteString("]," + report + "}")
	default:
		b.WriteString("]}")
	}
	return []byte(b.String())
}

// writeRxpk writes one rxpk object as sx1302_hal 2.1.0 does, field order
// and number formats included ("mid" is printed with %2u).
func writeRxpk(b *strings.Builder, p rxPacket) {
	stat := 1
	if !p.crcOK {
		stat = -1
	}
	fmt.Fprintf(b, `{"jver":1,"tmst":%d,"chan":%d,"rfch":%d,"freq":%.6f,"mid":%2d,"stat":%d`,
		p.countUS, p.channel.index, p.channel.Radio, float64(p.channel.freqHz)/1e6, p.channel.index, stat)
	fmt.Fprintf(b, `,"modu":"LORA","datr":"SF%dBW125","codr":"4/5","rssis":%d,"lsnr":%.1f,"foff":%d`, p.sf, p.rssis, p.lsnr, p.foff)
	fmt.Fprintf(b, `,"rssi":%d,"size":%d,"data":"%s"}`, p.rssi, len(p.payload), base64.StdEncoding.EncodeToString(p.payload))
}

// takeReport returns the stat report the main thread left, once.
func (f *forwarder) takeReport() string {
	f.report.mu.Lock()
	defer f.report.mu.Unlock()
	r := f.report.text
	f.report.text = ""
	return r
}

// stallDue tells whether the radio thread must hang now (the stall mode's
// time came, or SIGUSR2 asked for it).
func (f *forwarder) stallDue() bool {
	select {
	case <-f.stallNow:
		return true
	default:
		return !f.stallAt.IsZero() && !time.Now().Before(f.stallAt)
	}
}

// fetchFails ends the process as the real radio thread does when
// lgw_receive fails: exit(1) at once, stdout flushed, no exit sequence.
func (f *forwarder) fetchFails() {
	fmt.Fprintln(os.Stderr, "[fakefwd] lgw_receive now fails")
	f.out.printf("ERROR: [up] failed packet fetch, exiting\n")
	f.out.flush()
	os.Exit(1)
}

// hang blocks for good, as a radio thread stuck in lgw_receive while it
// holds the concentrator lock. A sleeping loop, not a bare block, keeps
// the Go runtime from calling the process deadlocked.
func (f *forwarder) hang() {
	fmt.Fprintln(os.Stderr, "[fakefwd] lgw_receive stalls forever now")
	for {
		time.Sleep(time.Hour)
	}
}

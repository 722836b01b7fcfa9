package fakefwd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// dwMeas are the downstream counters of one stat interval; the tx*
// request and rejection counts add up over the whole run, as the real
// forwarder's do.
type dwMeas struct {
	mu sync.Mutex
	dwCounts
}

type dwCounts struct {
	pullSent, ackRcv                      uint32
	dgramRcv, networkBytes, payloadBytes  uint32
	txOK, txFail                          uint32
	txRequested, rejCollision, rejTooLate uint32
	rejTooEarly                           uint32
}

// pullTimeout is the real downstream thread's receive timeout: it checks
// for the exit signal this often.
const pullTimeout = 200 * time.Millisecond

// downstream is the forwarder's downstream thread: a PULL_DATA every
// keepalive_interval with a new token, PULL_ACKs matched to the latest
// one, and each PULL_RESP parsed, queued and answered by a TX_ACK. It does
// not take the concentrator lock for keepalives, so they go on while the
// radio thread hangs.
func (f *forwarder) downstream() {
	defer f.wg.Done()
	buf := make([]byte, 1000)
	var unacked uint32 // PULL_DATA sent since the last PULL_ACK
	for !f.exiting() {
		if f.cfg.autoquit > 0 && unacked >= f.cfg.autoquit {
			f.out.printf("INFO: [down] the last %d PULL_DATA were not ACKed, exiting application\n", f.cfg.autoquit)
			f.quit()
			break
		}
		token := uint16(rand.Uint32())
		f.downConn.Write(header(pullData, token, f.cfg.gatewayID))
		sent := time.Now()
		f.dw.mu.Lock()
		f.dw.pullSent++
		f.dw.mu.Unlock()
		unacked++
		acked := false
		for int(time.Since(sent)/time.Second) < int(f.cfg.keepalive/time.Second) && !f.exiting() {
			f.downConn.SetReadDeadline(time.Now().Add(pullTimeout))
			n, err := f.downConn.Read(buf)
			if err != nil {
				continue
			}
			d := buf[:n]
			if n < 4 || d[0] != protocolVersion || (d[3] != pullResp && d[3] != pullAck) {
				f.out.printf("WARNING: [down] ignoring invalid packet len=%d, protocol_version=%d, id=%d\n", n, at(d, 0), at(d, 3))
				continue
			}
			if d[3] == pullAck {
				if f.pullAcked(d, token, sent, &acked) {
					unacked = 0
				}
				continue
			}
			f.pullResp(d)
		}
	}
	if f.family1301() {
		// The SX1301 forwarder cancels this thread without a word once
		// the upstream thread has ended; it speaks only when the main
		// thread never gets there (a stalled radio thread).
		select {
		case <-f.cancelled:
			return
		case <-time.After(time.Second):
		}
	}
	f.out.printf("\nINFO: End of downstream thread\n")
}

// pullAcked handles a PULL_ACK; it returns true for the first ack of the
// latest PULL_DATA.
func (f *forwarder) pullAcked(d []byte, token uint16, sent time.Time, acked *bool) bool {
	if _, match := isAck(d, pullAck, token); !match {
		f.out.printf("INFO: [down] received out-of-sync ACK\n")
		return false
	}
	if f.noack {
		return false
	}
	if *acked {
		f.out.printf("INFO: [down] duplicate ACK received :)\n")
		return false
	}
	*acked = true
	f.dw.mu.Lock()
	f.dw.ackRcv++
	f.dw.mu.Unlock()
	f.out.printf("INFO: [down] PULL_ACK received in %d ms\n", time.Since(sent).Milliseconds())
	return true
}

func at(b []byte, i int) int {
	if i < len(b) {
		return int(b[i])
	}
	return 0
}

// txpk is the part of a PULL_RESP's txpk the simulator reads.
type txpk struct {
	Imme *bool           `json:"imme"`
	Tmst *float64        `json:"tmst"`
	Tmms *float64        `json:"tmms"`
	Freq *float64        `json:"freq"`
	Rfch *float64        `json:"rfch"`
	Modu *string         `json:"modu"`
	Datr json.RawMessage `json:"datr"`
	Codr *string         `json:"codr"`
	Size *float64        `json:"size"`
	Data *string         `json:"data"`
	Prea *float64        `json:"prea"`
}

// pullResp handles one PULL_RESP as the real downstream thread does: it
// is accepted whether or not a PULL_ACK came first, checked field by field
// (a failure is a WARNING and no TX_ACK), then its frequency and time are
// judged and a TX_ACK carries the verdict with the PULL_RESP's token.
func (f *forwarder) pullResp(d []byte) {
	f.out.printf("INFO: [down] PULL_RESP received  - token[%d:%d] :)\n", d[1], d[2])
	f.out.printf("\nJSON down: %s\n", d[4:])
	var msg struct {
		Txpk *txpk `json:"txpk"`
	}
	if err := json.Unmarshal(d[4:], &msg); err != nil {
		f.out.printf("WARNING: [down] invalid JSON, TX aborted\n")
		return
	}
	if msg.Txpk == nil {
		f.out.printf("WARNING: [down] no \"txpk\" object in JSON, TX aborted\n")
		return
	}
	tx, ok := f.parseTxpk(msg.Txpk, d)
	if !ok {
		return
	}
	f.dw.mu.Lock()
	f.dw.dgramRcv++
	f.dw.networkBytes += uint32(len(d))
	f.dw.payloadBytes += uint32(tx.size)
	f.dw.mu.Unlock()
	jitErr := jitOK
	if r := f.cfg.radios[tx.rfch]; tx.freqHz < r.TxFreqMin || tx.freqHz > r.TxFreqMax {
		jitErr = jitTxFreq
		f.out.printf("ERROR: Packet REJECTED, unsupported frequency - %d (min:%d,max:%d)\n", tx.freqHz, r.TxFreqMin, r.TxFreqMax)
	}
	if jitErr == jitOK {
		jitErr = f.jit.enqueue(f.out, tx, f.concentratorTime())
		if jitErr != jitOK {
			f.out.printf("ERROR: Packet REJECTED (jit error=%d)\n", jitErr)
		}
		f.dw.mu.Lock()
		f.dw.txRequested++
		f.dw.mu.Unlock()
	}
	f.sendTxAck(d[1], d[2], jitErr)
}

// concentratorTime is the counter the JIT queue judges a downlink by.
// SX1302 reads it from the chip under the concentrator lock (a hung radio
// thread holds it: this thread then hangs too); SX1301 derives it from
// the host clock and the time-sync offset, without the lock.
func (f *forwarder) concentratorTime() uint32 {
	if f.family1301() {
		return uint32(time.Since(f.chip.start).Microseconds())
	}
	f.chip.mu.Lock()
	defer f.chip.mu.Unlock()
	now, _ := f.chip.counter(time.Now())
	return now
}

// parseTxpk checks the mandatory fields in the real order. GPS-timed
// packets are refused with GPS_UNLOCKED: the simulator has no GPS.
func (f *forwarder) parseTxpk(t *txpk, d []byte) (downlink, bool) {
	warn := func(s string) (downlink, bool) {
		f.out.printf("WARNING: [down] %s, TX aborted\n", s)
		return downlink{}, false
	}
	var tx downlink
	switch {
	case t.Imme != nil && *t.Imme:
		tx.class = classC
		f.out.printf("INFO: [down] a packet will be sent in \"immediate\" mode\n")
	case t.Tmst != nil:
		tx.class, tx.countUS = classA, uint32(*t.Tmst)
	case t.Tmms == nil:
		return warn(`no mandatory "txpk.tmst" or "txpk.tmms" objects in JSON`)
	default:
		f.out.printf("WARNING: [down] GPS disabled, impossible to send packet on specific GPS time, TX aborted\n")
		f.sendTxAck(d[1], d[2], jitGPSUnlocked)
		return downlink{}, false
	}
	if t.Freq == nil {
		return warn(`no mandatory "txpk.freq" object in JSON`)
	}
	tx.freqHz = uint32(1e6 * *t.Freq)
	if t.Rfch == nil {
		return warn(`no mandatory "txpk.rfch" object in JSON`)
	}
	tx.rfch = int(uint8(*t.Rfch)) % 2
	if !f.cfg.radios[tx.rfch].TxEnable {
		return warn(fmt.Sprintf("TX is not enabled on RF chain %d", tx.rfch))
	}
	if t.Modu == nil {
		return warn(`no mandatory "txpk.modu" object in JSON`)
	}
	if *t.Modu != "LORA" {
		return warn(`invalid modulation in "txpk.modu"`) // FSK downlinks are not simulated
	}
	var datr string
	if json.Unmarshal(t.Datr, &datr) != nil {
		return warn(`no mandatory "txpk.datr" object in JSON`)
	}
	var bw int
	if n, _ := fmt.Sscanf(datr, "SF%dBW%d", &tx.sf, &bw); n != 2 {
		return warn(`format error in "txpk.datr"`)
	}
	if tx.sf < 5 || tx.sf > 12 {
		return warn(`format error in "txpk.datr", invalid SF`)
	}
	if bw != 125 && bw != 250 && bw != 500 {
		return warn(`format error in "txpk.datr", invalid BW`)
	}
	tx.bwKHz = bw
	if t.Codr == nil {
		f.out.printf("WARNING: [down] no mandatory \"txpk.codr\" object in json, TX aborted\n")
		return downlink{}, false
	}
	cr := map[string]int{"4/5": 1, "4/6": 2, "2/3": 2, "4/7": 3, "4/8": 4, "1/2": 4}[*t.Codr]
	if cr == 0 {
		return warn(`format error in "txpk.codr"`)
	}
	tx.cr, tx.preamble = cr, 8
	if t.Prea != nil {
		tx.preamble = max(int(*t.Prea), 8)
	}
	if t.Size == nil {
		return warn(`no mandatory "txpk.size" object in JSON`)
	}
	tx.size = int(uint16(*t.Size))
	if t.Data == nil {
		return warn(`no mandatory "txpk.data" object in JSON`)
	}
	if b, err := base64.StdEncoding.DecodeString(padBase64(*t.Data)); err != nil || len(b) != tx.size {
		f.out.printf("WARNING: [down] mismatch between .size and .data size once converter to binary\n")
	}
	return tx, true
}

func padBase64(s string) string {
	if r := len(s) % 4; r != 0 && !strings.HasSuffix(s, "=") {
		s += strings.Repeat("=", 4-r)
	}
	return s
}

// sendTxAck answers a PULL_RESP and counts the rejections the stat block
// shows.
func (f *forwarder) sendTxAck(tokenH, tokenL byte, e jitError) {
	f.dw.mu.Lock()
	switch e {
	case jitCollisionPacket, jitFull:
		f.dw.rejCollision++
	case jitTooLate:
		f.dw.rejTooLate++
	case jitTooEarly:
		f.dw.rejTooEarly++
	}
	f.dw.mu.Unlock()
	f.downConn.Write(txAckDatagram(tokenH, tokenL, f.cfg.gatewayID, e.String()))
}

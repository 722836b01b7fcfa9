package fakefwd

import (
	"math"
	"sync"
	"time"
)

// jitError is the real forwarder's enum jit_error_e; its numbers appear in
// `Packet REJECTED (jit error=N)` and its names in TX_ACK.
type jitError int

const (
	jitOK jitError = iota
	jitTooLate
	jitTooEarly
	jitFull
	jitEmpty
	jitCollisionPacket
	jitCollisionBeacon
	jitTxFreq
	jitTxPower
	jitGPSUnlocked
)

// String is the TX_ACK error name; "" for success (no JSON at all).
func (e jitError) String() string {
	return [...]string{"", "TOO_LATE", "TOO_EARLY", "COLLISION_PACKET", "UNKNOWN", "COLLISION_PACKET",
		"COLLISION_BEACON", "TX_FREQ", "TX_POWER", "GPS_UNLOCKED"}[e]
}

type downlinkClass int

// The JIT packet types, numbered as the real ones (class A = 0).
const (
	classA downlinkClass = iota
	classB
	classC
)

// downlink is a parsed txpk.
type downlink struct {
	class           downlinkClass
	countUS, freqHz uint32
	rfch            int
	sf, bwKHz, cr   int
	preamble, size  int
}

// The JIT queue's timing constants (jitqueue.c of both families), µs.
const (
	txStartDelay   = 1500
	txMarginDelay  = 1000
	txMaxAdvance   = 4 * 128 * 1000000
	jitQueueMax    = 32
	jitPrintPrefix = "src/jitqueue.c"
)

type jitNode struct {
	pkt       downlink
	postDelay uint32
}

// jitQueues are the forwarder's just-in-time queues: one per RF chain on
// SX1302, one in all on SX1301 (chain 0 here).
type jitQueues struct {
	mu     sync.Mutex
	q      [2][]jitNode
	single bool
	delay  uint32 // TX_JIT_DELAY: 40 ms on SX1302, 30 ms on SX1301
	lines  [3]int // where jitqueue.c prints too late, too early, collision
}

func newJITQueues(sx1301 bool) jitQueues {
	if sx1301 {
		return jitQueues{single: true, delay: 30000, lines: [3]int{233, 251, 280}}
	}
	return jitQueues{delay: 40000, lines: [3]int{229, 247, 276}}
}

func (j *jitQueues) chain(rfch int) int {
	if j.single {
		return 0
	}
	return rfch
}

// enqueue judges a downlink against the concentrator time now, with the
// real queue's unsigned arithmetic: a time that has passed looks far
// ahead and is TOO_EARLY, as the captures show. It prints the queue's
// debug line for a rejection.
func (j *jitQueues) enqueue(out *output, tx downlink, now uint32) jitError {
	j.mu.Lock()
	defer j.mu.Unlock()
	chain := j.chain(tx.rfch)
	q := j.q[chain]
	if len(q) >= jitQueueMax {
		return jitFull
	}
	pre, post := txStartDelay+j.delay, airtimeMs(tx)*1000
	if tx.class == classC {
		tx.countUS = now + 2*j.delay
		for _, n := range q {
			if j.collides(tx.countUS, post, n) {
				last := q[len(q)-1]
				tx.countUS = last.pkt.countUS + last.postDelay + pre + j.delay + txMarginDelay
				break
			}
		}
	}
	if tx.countUS-now <= txStartDelay+txMarginDelay+j.delay {
		out.printf("%s:%d:jit_enqueue(): ERROR: Packet REJECTED, already too late to send it (current=%d, packet=%d, type=%d)\n", jitPrintPrefix, j.lines[0], now, tx.countUS, tx.class)
		return jitTooLate
	}
	if tx.class != classC && tx.countUS-now > txMaxAdvance {
		out.printf("%s:%d:jit_enqueue(): ERROR: Packet REJECTED, timestamp seems wrong, too much in advance (current=%d, packet=%d, type=%d)\n", jitPrintPrefix, j.lines[1], now, tx.countUS, tx.class)
		return jitTooEarly
	}
	for _, n := range q {
		if j.collides(tx.countUS, post, n) {
			out.printf("%s:%d:jit_enqueue(): ERROR: Packet (type=%d) REJECTED, collision with packet already programmed at %d (%d)\n", jitPrintPrefix, j.lines[2], tx.class, n.pkt.countUS, tx.countUS)
			return jitCollisionPacket
		}
	}
	j.q[chain] = append(q, jitNode{pkt: tx, postDelay: post})
	return jitOK
}

// collides is jit_collision_test between a new downlink at count lasting
// post µs and a queued one; both have the downlink pre-delay.
func (j *jitQueues) collides(count, post uint32, n jitNode) bool {
	pre := txStartDelay + j.delay
	return count-n.pkt.countUS <= pre+n.postDelay+txMarginDelay ||
		n.pkt.countUS-count <= pre+post+txMarginDelay
}

// due removes and returns the downlinks of chain whose time is within the
// JIT delay of now, as the real JIT thread hands them to the radio.
func (j *jitQueues) due(chain int, now uint32) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	kept, n := j.q[chain][:0], 0
	for _, node := range j.q[chain] {
		if node.pkt.countUS-now < j.delay {
			n++
			continue
		}
		kept = append(kept, node)
	}
	j.q[chain] = kept
	return n
}

// queued returns the count_us and type of the queued downlinks of chain.
func (j *jitQueues) queued(chain int) []JITNode {
	j.mu.Lock()
	defer j.mu.Unlock()
	var ns []JITNode
	for _, n := range j.q[chain] {
		ns = append(ns, JITNode{CountUS: n.pkt.countUS, Type: int(n.pkt.class)})
	}
	return ns
}

// airtimeMs is a LoRa packet's time on air, rounded to the millisecond,
// with Semtech's formula (explicit header, CRC on).
func airtimeMs(tx downlink) uint32 {
	tsym := math.Ldexp(1, tx.sf) / float64(tx.bwKHz*1000)
	de := 0.0
	if tsym >= 0.016 {
		de = 1
	}
	n := math.Ceil((8*float64(tx.size)-4*float64(tx.sf)+28+16)/(4*(float64(tx.sf)-2*de))) * float64(tx.cr+4)
	symbols := float64(tx.preamble) + 4.25 + 8 + max(n, 0)
	return uint32(symbols*tsym*1000 + 0.5)
}

// jitThread is the real forwarder's JIT thread: every 10 ms it reads the
// counter under the concentrator lock and hands due downlinks to the radio
// (which always succeeds here).
func (f *forwarder) jitThread() {
	defer f.wg.Done()
	for !f.exiting() {
		time.Sleep(10 * time.Millisecond)
		for chain := range 2 {
			f.chip.mu.Lock()
			now, _ := f.chip.counter(time.Now())
			f.chip.mu.Unlock()
			if n := f.jit.due(chain, now); n > 0 {
				f.dw.mu.Lock()
				f.dw.txOK += uint32(n)
				f.dw.mu.Unlock()
			}
		}
	}
	if f.family1301() {
		return // cancelled without a word
	}
	f.out.printf("\nINFO: End of JIT thread\n")
}

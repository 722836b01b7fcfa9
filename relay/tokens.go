package relay

import (
	"sync"
	"time"
)

// Bounds of the table of downlinks in flight (docs/gwmp.md, "Tokens").
const (
	// inFlightMax downlinks await a TX_ACK at most; the oldest is evicted
	// to make room. The forwarder's JIT queue holds 32.
	inFlightMax = 256
	// inFlightTTL is how long a downlink waits for its TX_ACK. The
	// forwarder answers when it queues the packet, in well under a second;
	// gateway-rs gives up after 5 s.
	inFlightTTL = 30 * time.Second
)

// downlink is one PULL_RESP relayed to the forwarder and not yet
// acknowledged.
type downlink struct {
	token    uint16        // the token the forwarder saw
	upstream int           // index of the upstream that sent it
	upToken  uint16        // the upstream's own token
	at       time.Duration // when it was relayed (monotonic, since the relay's start)
	used     bool
}

// tokenTable hands out tokens for downlinks, unique among those in
// flight, and finds the upstream and token a TX_ACK belongs to. Downlinks
// are rare (one per uplink at most), so a mutex and a linear scan of 256
// entries cost nothing that matters.
type tokenTable struct {
	mu      sync.Mutex
	entries [inFlightMax]downlink
	counter uint16 // the last token handed out
	evicted uint64
	expired uint64
}

// add records a downlink from upstream with its token upToken and returns
// the token to send the forwarder.
func (t *tokenTable) add(upstream int, upToken uint16, now time.Duration) uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	for {
		t.counter++
		if t.find(t.counter) < 0 {
			break
		}
	}
	slot := t.free()
	if slot.used {
		t.evicted++
	}
	*slot = downlink{token: t.counter, upstream: upstream, upToken: upToken, at: now, used: true}
	return t.counter
}

// take removes the downlink the forwarder knows as token and returns it;
// ok is false when no live downlink has that token.
func (t *tokenTable) take(token uint16, now time.Duration) (d downlink, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	i := t.find(token)
	if i < 0 {
		return downlink{}, false
	}
	d = t.entries[i]
	t.entries[i].used = false
	return d, true
}

// free returns an unused entry, or the oldest one when all are in use.
func (t *tokenTable) free() *downlink {
	oldest := &t.entries[0]
	for i := range t.entries {
		d := &t.entries[i]
		if !d.used {
			return d
		}
		if d.at < oldest.at {
			oldest = d
		}
	}
	return oldest
}

// expire drops (and counts) the downlinks older than inFlightTTL.
func (t *tokenTable) expire(now time.Duration) {
	for i := range t.entries {
		if t.entries[i].used && now-t.entries[i].at >= inFlightTTL {
			t.entries[i].used = false
			t.expired++
		}
	}
}

// find returns the index of the downlink in flight with token, or -1.
func (t *tokenTable) find(token uint16) int {
	for i := range t.entries {
		if t.entries[i].used && t.entries[i].token == token {
			return i
		}
	}
	return -1
}

// stats returns the number of downlinks in flight and the evicted and
// expired counts.
func (t *tokenTable) stats(now time.Duration) TokenStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	s := TokenStats{Evicted: t.evicted, Expired: t.expired}
	for i := range t.entries {
		if t.entries[i].used {
			s.InFlight++
		}
	}
	return s
}

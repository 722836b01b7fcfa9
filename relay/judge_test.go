package relay

import (
	"testing"
	"time"
)

// The rules walked through in microseconds of test time: no sleeping.
func TestJudge(t *testing.T) {
	p := policy{lostAfter: 60 * time.Second, silence: 5 * time.Second, reresolve: 30 * time.Second}
	s := time.Second
	tests := []struct {
		name string
		ev   evidence
		now  time.Duration
		want verdict // why is not compared
	}{
		{"fresh, quiet", evidence{state: StateWaiting, opened: 1, resolved: 1}, 10 * s, verdict{}},
		{"waiting until lostAfter after opening", evidence{state: StateWaiting, opened: 1, resolved: 59 * s}, 60*s + 1, verdict{lost: true, resolve: true}},
		{"answered recently", evidence{state: StateOK, opened: 1, answered: 50 * s, resolved: 80 * s}, 100 * s, verdict{}},
		{"answered lostAfter ago", evidence{state: StateOK, opened: 1, answered: 40 * s, resolved: 99 * s}, 100 * s, verdict{lost: true, resolve: true}},
		{"just under lostAfter", evidence{state: StateOK, opened: 1, answered: 40*s + 1, resolved: 99 * s}, 100 * s, verdict{}},
		{"lost, sockets just reopened", evidence{state: StateLost, opened: 100 * s, answered: 40 * s, resolved: 100 * s}, 110 * s, verdict{}},
		{"lost, another lostAfter since reopening", evidence{state: StateLost, opened: 100 * s, answered: 40 * s, resolved: 155 * s}, 160 * s, verdict{lost: true, resolve: true}},
		{"ack silence: re-resolve at once", evidence{state: StateOK, opened: 1, answered: 10 * s, unanswered: 11 * s, resolved: 10 * s}, 16 * s, verdict{resolve: true}},
		{"ack silence, already re-resolved for it", evidence{state: StateOK, opened: 1, answered: 10 * s, unanswered: 11 * s, resolved: 16 * s}, 17 * s, verdict{}},
		{"a send not yet overdue", evidence{state: StateOK, opened: 1, answered: 10 * s, unanswered: 11 * s, resolved: 10 * s}, 15 * s, verdict{}},
		{"periodic", evidence{state: StateOK, opened: 1, answered: 39 * s, resolved: 10 * s}, 40 * s, verdict{resolve: true}},
		{"unresolved: retry after min(reresolve, lostAfter)", evidence{state: StateUnresolved, resolved: 10 * s}, 40 * s, verdict{resolve: true}},
		{"unresolved: not yet", evidence{state: StateUnresolved, resolved: 10 * s}, 39 * s, verdict{}},
		// A clock step cannot reach these rules: the times are monotonic offsets.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judge(tt.ev, tt.now, p)
			if got.lost != tt.want.lost || got.resolve != tt.want.resolve {
				t.Errorf("judge = %+v, want lost %v resolve %v", got, tt.want.lost, tt.want.resolve)
			}
			if (got.lost || got.resolve) && got.why == "" {
				t.Error("a verdict without a reason")
			}
		})
	}
}

func TestTokenTable(t *testing.T) {
	var tt tokenTable
	s := time.Second
	seen := map[uint16]bool{}
	for i := range inFlightMax {
		tok := tt.add(i%2, 0x03e9, s)
		if seen[tok] {
			t.Fatalf("token %04x handed out twice while in flight", tok)
		}
		seen[tok] = true
	}
	if st := tt.stats(s); st.InFlight != inFlightMax || st.Evicted != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The 257th evicts the oldest.
	first := uint16(1)
	tt.add(0, 7, 2*s)
	if _, ok := tt.take(first, 2*s); ok {
		t.Fatal("the oldest downlink was not evicted")
	}
	if st := tt.stats(2 * s); st.InFlight != inFlightMax || st.Evicted != 1 {
		t.Fatalf("stats %+v", st)
	}
	d, ok := tt.take(2, 2*s)
	if !ok || d.upstream != 1 || d.upToken != 0x03e9 {
		t.Fatalf("take(2) = %+v, %v", d, ok)
	}
	if _, ok := tt.take(2, 2*s); ok {
		t.Fatal("a TX_ACK was matched twice")
	}
	// After inFlightTTL every entry but the newest is gone.
	if st := tt.stats(s + inFlightTTL); st.InFlight != 1 || st.Expired != inFlightMax-2 {
		t.Fatalf("stats after the TTL %+v", st)
	}
}

// The counter wraps and skips tokens still in flight.
func TestTokenTable_SkipsLiveTokens(t *testing.T) {
	var tt tokenTable
	tt.counter = 0xfffe
	a := tt.add(0, 1, 1) // 0xffff
	tt.counter = a - 1
	if b := tt.add(0, 2, 1); b == a {
		t.Fatalf("token %04x handed out again while in flight", b)
	}
}

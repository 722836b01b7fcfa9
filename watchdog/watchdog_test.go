package watchdog_test

import (
	"strings"
	"testing"
	"time"

	"pktfwd/stats"
	"pktfwd/watchdog"
)

// step is one moment of a table test: after d (from the previous step)
// something arrives, then the rules are asked.
type step struct {
	d     time.Duration
	block *stats.Block    // a block arrives
	line  watchdog.Line   // or a line
	relay *watchdog.Relay // or the relay's observations
	// what the judgement must say then
	rule     string // "" for no verdict
	upstream watchdog.UpstreamState
	notice   string // a substring of the notice, if any
	paused   bool
	next     time.Duration // Next must be this long after the start (0: not checked)
}

func healthy(counter uint32) *stats.Block {
	return &stats.Block{Family: stats.FamilySX1302, Has: stats.FieldReceived | stats.FieldForwarded | stats.FieldPushSent | stats.FieldPushAck | stats.FieldPull | stats.FieldCounter,
		Received: 3, Forwarded: 3, PushSent: 4, PushAck: 100, PullSent: 1, PullAck: 100, CounterKnown: true, Counter: counter}
}

func with(b *stats.Block, f func(*stats.Block)) *stats.Block { f(b); return b }

var slow = watchdog.Config{StatInterval: 5 * time.Second, Keepalive: 5 * time.Second, NoAck: 10 * time.Second, Terminal: true}

var direct = watchdog.Config{StatInterval: time.Second, Keepalive: time.Second, Counter: true, NoAck: 10 * time.Second, Terminal: true, StartLimit: 30 * time.Second}

func TestRun(t *testing.T) {
	started := watchdog.Started
	farServer := func(c uint32) *stats.Block {
		return with(healthy(c), func(b *stats.Block) { b.PushAck = 0 })
	}
	dead := func(c uint32) *stats.Block {
		return with(healthy(c), func(b *stats.Block) { b.PushAck, b.PullAck = 0, 0 })
	}
	unknown := func() *stats.Block {
		return with(healthy(0), func(b *stats.Block) { b.CounterKnown = false })
	}
	sx1301 := func(c uint32) *stats.Block {
		return with(healthy(c), func(b *stats.Block) { b.Family = stats.FamilySX1301 })
	}
	noFwd := func(c uint32) *stats.Block {
		return with(healthy(c), func(b *stats.Block) { b.Received, b.Forwarded = 117, 0 })
	}
	for _, tc := range []struct {
		name  string
		cfg   watchdog.Config
		steps []step
	}{
		{"slow start is no stall", direct, []step{
			{d: 0, next: 30 * time.Second},
			{d: 6 * time.Second}, // 6 s of firmware load: no verdict, 2.5 intervals long gone
			{d: 3 * time.Second, line: started, next: 9*time.Second + 2500*time.Millisecond},
			{d: time.Second, block: healthy(1)},
			{d: time.Second, block: healthy(2), next: 11*time.Second + 2500*time.Millisecond},
			{d: 2499 * time.Millisecond},
			{d: time.Millisecond, rule: watchdog.Stalled},
		}},
		{"a start that never completes", direct, []step{
			{d: 29 * time.Second},
			{d: time.Second, rule: watchdog.StartTimeout},
		}},
		{"first block proves the start (builds without the line)", direct, []step{
			{d: 5 * time.Second, block: healthy(1)},
			{d: 2 * time.Second, block: healthy(2)},
			{d: 2600 * time.Millisecond, rule: watchdog.Stalled},
		}},
		{"a server 150 ms away: PULL_ACKs prove it alive", slow, []step{
			{d: 0, line: started},
			{d: 5 * time.Second, block: farServer(1), upstream: watchdog.StateOK},
			{d: 5 * time.Second, block: farServer(2)},
			{d: 5 * time.Second, block: farServer(3), upstream: watchdog.StateOK, notice: "push_timeout_ms"},
			{d: 5 * time.Second, block: farServer(4), upstream: watchdog.StateOK, notice: "push_timeout_ms"},
		}},
		{"upstream lost is reported, not a verdict", slow, []step{
			{d: 0, line: started},
			{d: 5 * time.Second, block: dead(1), upstream: watchdog.StateOK},
			{d: 5 * time.Second, block: dead(2)},
			{d: 5 * time.Second, block: dead(3), upstream: watchdog.StateLost},
			{d: 0, line: watchdog.PullAck, upstream: watchdog.StateOK},
		}},
		{"dead downlinks", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: with(healthy(1), func(b *stats.Block) { b.PullSent, b.PullAck = 3, 0 }), upstream: watchdog.StateOK},
			{d: time.Second, block: with(healthy(2), func(b *stats.Block) { b.PullSent, b.PullAck = 3, 0 }), upstream: watchdog.StateDownlinkLost},
			{d: 0, line: watchdog.PullAck, upstream: watchdog.StateOK},
		}},
		{"100 % CRC errors: received but not forwarded", watchdog.Config{StatInterval: time.Second, NoRx: 3 * time.Second, Terminal: true}, []step{
			{d: 0, line: started},
			{d: time.Second, block: noFwd(1)},
			{d: time.Second, block: noFwd(2)},
			{d: 999 * time.Millisecond, block: noFwd(3)},
			{d: time.Millisecond, rule: watchdog.RadioSilent},
		}},
		{"counter frozen", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: healthy(5)},
			{d: time.Second, block: healthy(5)},
			{d: time.Second, block: healthy(5)},
			{d: time.Second, block: healthy(5), rule: watchdog.Wedged},
		}},
		{"a moving counter starts over", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: healthy(7)},
			{d: time.Second, block: healthy(7)},
			{d: time.Second, block: healthy(7)},
			{d: time.Second, block: healthy(8)},
			{d: time.Second, block: healthy(8)},
			{d: time.Second, block: healthy(8)},
			{d: time.Second, block: healthy(8), rule: watchdog.Wedged},
		}},
		{"counter unknown", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: unknown()},
			{d: time.Second, block: unknown()},
			{d: time.Second, block: unknown(), rule: watchdog.Wedged},
		}},
		{"the SX1301's latched PPS time is not judged", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: sx1301(772)},
			{d: time.Second, block: sx1301(772)},
			{d: time.Second, block: sx1301(772)},
			{d: time.Second, block: sx1301(772)},
		}},
		{"pause of pktfwd: held for one interval, then the waiting blocks count", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: healthy(1), next: 3500 * time.Millisecond},
			{d: 6 * time.Second, line: watchdog.PullAck, paused: true, next: 8 * time.Second}, // resumed at 7 s
			{d: 10 * time.Millisecond, block: healthy(2), paused: true},
			{d: 10 * time.Millisecond, block: healthy(3), paused: true},
			{d: 980 * time.Millisecond, next: 7020*time.Millisecond + 2500*time.Millisecond},
		}},
		{"a real stall is still caught after a pause", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: healthy(1)},
			{d: 20 * time.Second, paused: true},
			{d: time.Second, rule: watchdog.Stalled},
		}},
		{"the forwarder's clock steps: header times change nothing", direct, []step{
			{d: 0, line: started},
			{d: time.Second, block: with(healthy(1), func(b *stats.Block) { b.Time = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC) })},
			{d: time.Second, block: with(healthy(2), func(b *stats.Block) { b.Time = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }), next: 4500 * time.Millisecond},
		}},
		{"no terminal: no stall and no start limit", watchdog.Config{StatInterval: time.Second, Terminal: false, StartLimit: time.Second}, []step{
			{d: time.Hour},
			{d: time.Second, block: healthy(1)},
			{d: time.Hour},
		}},
		{"relay: the forwarder's PULL_DATA", watchdog.Config{StatInterval: 10 * time.Second, Keepalive: time.Second, Relay: true, Terminal: true, NoAck: time.Second}, []step{
			{d: 0, line: started, next: 3 * time.Second},
			{d: time.Second, relay: &watchdog.Relay{Primary: watchdog.StateOK}, upstream: watchdog.StateOK},
			{d: time.Second, block: dead(1), upstream: watchdog.StateOK}, // local acks: its figures say nothing
			{d: 1500 * time.Millisecond, next: 4 * time.Second},
			{d: 500 * time.Millisecond, rule: watchdog.NoPullData},
			// after the verdict the upstream is still judged (it used to read waiting)
			{d: time.Second, relay: &watchdog.Relay{Primary: watchdog.StateLost, PrimaryReason: "no answer"}, rule: watchdog.NoPullData, upstream: watchdog.StateLost},
		}},
		{"relay: a lost primary is reported", watchdog.Config{StatInterval: time.Second, Keepalive: 10 * time.Second, Relay: true, Terminal: true}, []step{
			{d: 0, line: started},
			{d: time.Second, block: healthy(1), relay: &watchdog.Relay{Primary: watchdog.StateLost, PrimaryReason: "no answer"}, upstream: watchdog.StateLost},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			r := watchdog.NewRun(tc.cfg, t0)
			now := t0
			var gotRule string
			for i, s := range tc.steps {
				now = now.Add(s.d)
				switch {
				case s.block != nil:
					r.Block(*s.block, now)
				case s.line != watchdog.OtherLine:
					r.Output(s.line, now)
				}
				if s.relay != nil {
					s.relay.LastPullData = now
					r.SetRelay(*s.relay)
				}
				j := r.Judge(now)
				gotRule = ""
				if j.Verdict != nil {
					gotRule = j.Verdict.Rule
				}
				if gotRule != s.rule {
					t.Fatalf("step %d (%s after the start): verdict %+v, want %q", i, now.Sub(t0), j.Verdict, s.rule)
				}
				if s.upstream != "" && j.Upstream != s.upstream {
					t.Errorf("step %d: upstream %s (report %+v), want %s", i, j.Upstream, j.Report, s.upstream)
				}
				if (j.Report != nil) != (j.Upstream == watchdog.StateLost || j.Upstream == watchdog.StateDownlinkLost) {
					t.Errorf("step %d: upstream %s with report %+v", i, j.Upstream, j.Report)
				}
				if s.notice != "" && !strings.Contains(j.Notice, s.notice) {
					t.Errorf("step %d: notice %q, want it to name %s", i, j.Notice, s.notice)
				}
				if j.Paused != s.paused {
					t.Errorf("step %d: paused %v, want %v", i, j.Paused, s.paused)
				}
				if s.next != 0 && !j.Next.Equal(t0.Add(s.next)) {
					t.Errorf("step %d: next at %s, want %s", i, j.Next.Sub(t0), s.next)
				}
				if gotRule != "" && !watchdog.Restarts(gotRule) {
					t.Errorf("step %d: %s is a network rule but came as a verdict", i, gotRule)
				}
			}
		})
	}
}

func TestRun_verdictOnce(t *testing.T) {
	t0 := time.Now()
	r := watchdog.NewRun(direct, t0)
	r.Output(watchdog.Started, t0)
	j := r.Judge(t0.Add(3 * time.Second))
	if j.Verdict == nil || j.Verdict.Rule != watchdog.Stalled || !j.Verdict.Since.Equal(t0) ||
		!strings.Contains(j.Verdict.Reason, "3s since the concentrator started") {
		t.Fatalf("got %+v", j.Verdict)
	}
	r.Block(*healthy(1), t0.Add(4*time.Second))
	if j2 := r.Judge(t0.Add(4 * time.Second)); j2.Verdict == nil || !j2.Verdict.At.Equal(j.Verdict.At) {
		t.Errorf("after the verdict a block changed it: %+v", j2.Verdict)
	}
}

func TestClassify(t *testing.T) {
	for line, want := range map[string]watchdog.Line{
		"INFO: [main] concentrator started, packet can now be received": watchdog.Started,
		"INFO: [down] PULL_ACK received in 4 ms":                        watchdog.PullAck,
		"INFO: [up] PUSH_ACK received in 0 ms":                          watchdog.PushAck,
		"# PULL_DATA sent: 1 (100.00% acknowledged)":                    watchdog.OtherLine,
	} {
		if got := watchdog.Classify(line); got != want {
			t.Errorf("Classify(%q) = %d, want %d", line, got, want)
		}
	}
}

func TestEscalation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []string // a rule, "stable", or "reset"
		want  []bool   // power cycle per rule step
	}{
		{"second concentrator verdict", []string{watchdog.Stalled, watchdog.Wedged, watchdog.Stalled, watchdog.Stalled}, []bool{false, true, false, true}},
		{"network rules never", []string{watchdog.UpstreamLost, watchdog.UpstreamLost, watchdog.DownlinkLost, watchdog.RadioSilent, watchdog.StartTimeout}, []bool{false, false, false, false, false}},
		{"a stable run between", []string{watchdog.Stalled, "stable", watchdog.Stalled}, []bool{false, false}},
		{"a run without verdict or a region change", []string{watchdog.Wedged, "reset", watchdog.Wedged}, []bool{false, false}},
		{"other rules do not reset", []string{watchdog.Wedged, watchdog.RadioSilent, watchdog.Wedged}, []bool{false, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e watchdog.Escalation
			var got []bool
			for _, s := range tc.steps {
				switch s {
				case "stable":
					e.Stable()
				case "reset":
					e.Reset()
				default:
					got = append(got, e.Verdict(s))
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

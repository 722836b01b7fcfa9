package supervisor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pktfwd/internal/fakefwd"
)

// run feeds a watchdog blocks at chosen times, as a forwarder would print
// them.
type run struct {
	t  *testing.T
	w  *watchdog
	at time.Time
}

func newRun(t *testing.T, r watchRules) *run {
	w := newWatchdog()
	// Times run ahead of the real clock, so the stall timer (real) never
	// fires during a test; check applies the stall rule instead.
	at := time.Now().Truncate(time.Second).Add(time.Second)
	r.enabled = true
	w.begin(r, at)
	t.Cleanup(w.end)
	return &run{t: t, w: w, at: at}
}

// healthy is a block of a working SX1302 forwarder.
func healthy(counter uint32) fakefwd.StatBlock {
	return fakefwd.StatBlock{SX1302: true, Received: 3, CRCOK: 100, Forwarded: 3, PushSent: 4, PushAck: 100, Counter: counter, TempC: 40}
}

// next prints b after d and reports the verdict it caused, if any.
func (r *run) next(d time.Duration, b fakefwd.StatBlock) *Verdict {
	r.t.Helper()
	r.at = r.at.Add(d)
	b.Time = r.at
	var buf bytes.Buffer
	fakefwd.WriteStatBlock(&buf, b)
	for _, l := range strings.Split(buf.String(), "\n") {
		r.w.observe(l, r.at)
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.w.verdict
}

func TestWatchdog_stall(t *testing.T) {
	r := newRun(t, watchRules{statInterval: 30 * time.Second})
	r.w.check(r.at.Add(74 * time.Second))
	if r.w.verdict != nil {
		t.Fatalf("verdict %+v before 2.5 intervals without a first block", r.w.verdict)
	}
	r.next(30*time.Second, healthy(1))
	last := r.at
	r.w.check(last.Add(74999 * time.Millisecond))
	if r.w.verdict != nil {
		t.Fatalf("verdict %+v 74.999 s after the last block", r.w.verdict)
	}
	r.w.check(last.Add(75 * time.Second))
	v := r.w.verdict
	if v == nil || v.Rule != RuleStalled || !v.Since.Equal(last) || !strings.Contains(v.Reason, "1m15s since the last one") {
		t.Fatalf("got %+v, want stalled since %s", v, last)
	}
	got, repeats, ok := r.w.take()
	if !ok || got.Rule != RuleStalled || repeats != 1 {
		t.Fatalf("take() = %+v, %d, %v", got, repeats, ok)
	}
	if _, _, ok := r.w.take(); ok {
		t.Error("a verdict was taken twice")
	}
}

func TestWatchdog_counterRule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stuck func(i int) fakefwd.StatBlock
	}{
		{"frozen", func(int) fakefwd.StatBlock { return healthy(5_000_000) }},
		{"unknown", func(int) fakefwd.StatBlock { b := healthy(0); b.CounterUnknown = true; return b }},
		{"unknown then frozen", func(i int) fakefwd.StatBlock {
			b := healthy(5_000_000)
			b.CounterUnknown = i == 0
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t, watchRules{statInterval: time.Second, counter: true})
			r.next(time.Second, healthy(1_000_000))
			r.next(time.Second, healthy(5_000_000))
			good := r.at
			for i := 0; i < 2; i++ {
				if v := r.next(time.Second, tc.stuck(i)); v != nil {
					t.Fatalf("verdict after %d stuck blocks: %+v", i+1, v)
				}
			}
			v := r.next(time.Second, tc.stuck(2))
			if v == nil || v.Rule != RuleWedged || !v.Since.Equal(good) {
				t.Fatalf("after 3 stuck blocks got %+v, want wedged since %s", v, good)
			}
		})
	}
	t.Run("a moving counter starts over", func(t *testing.T) {
		r := newRun(t, watchRules{statInterval: time.Second, counter: true})
		for i, c := range []uint32{7, 7, 7, 8, 8, 8} {
			if v := r.next(time.Second, healthy(c)); v != nil {
				t.Fatalf("block %d: verdict %+v", i, v)
			}
		}
		if v := r.next(time.Second, healthy(8)); v == nil {
			t.Fatal("no verdict after 3 unchanged blocks")
		}
	})
	t.Run("SX1301 is not judged by its latched PPS time", func(t *testing.T) {
		r := newRun(t, watchRules{statInterval: time.Second, counter: false})
		for i := 0; i < 6; i++ {
			b := healthy(772)
			b.SX1302 = false
			if v := r.next(time.Second, b); v != nil {
				t.Fatalf("verdict %+v", v)
			}
		}
	})
}

func TestWatchdog_noAck(t *testing.T) {
	r := newRun(t, watchRules{statInterval: 30 * time.Second, noAck: 300 * time.Second})
	noack := healthy(1)
	noack.PushAck = 0
	for i := 0; i < 9; i++ { // 270 s
		if v := r.next(30*time.Second, noack); v != nil {
			t.Fatalf("verdict after %d s: %+v", (i+1)*30, v)
		}
	}
	r.next(30*time.Second, healthy(1)) // one acknowledgement at 300 s
	acked := r.at
	idle := healthy(1)
	idle.PushSent, idle.PushAck = 0, 0 // nothing sent: no evidence either way
	for i := 0; i < 9; i++ {
		b := noack
		if i%2 == 1 {
			b = idle
		}
		if v := r.next(30*time.Second, b); v != nil {
			t.Fatalf("verdict %s after the last ack: %+v", r.at.Sub(acked), v)
		}
	}
	v := r.next(30*time.Second, noack)
	if v == nil || v.Rule != RuleUpstream || !v.Since.Equal(acked) || !strings.Contains(v.Reason, "24 PUSH_DATA sent and none acknowledged for 5m0s") {
		t.Fatalf("got %+v, want upstream lost since %s", v, acked)
	}
}

func TestWatchdog_noRx(t *testing.T) {
	r := newRun(t, watchRules{statInterval: 30 * time.Second, noRx: 60 * time.Second})
	silent := healthy(1)
	silent.Received, silent.Forwarded = 0, 0
	if v := r.next(30*time.Second, silent); v != nil {
		t.Fatalf("verdict at 30 s: %+v", v)
	}
	v := r.next(30*time.Second, silent)
	if v == nil || v.Rule != RuleRadioSilent {
		t.Fatalf("got %+v, want radio silent after 60 s", v)
	}
}

func TestWatchdog_offStillCounts(t *testing.T) {
	w := newWatchdog()
	at := time.Now()
	w.begin(watchRules{statInterval: time.Second, counter: true, noAck: time.Second}, at)
	defer w.end()
	var buf bytes.Buffer
	for i := 0; i < 5; i++ {
		b := healthy(9)
		b.PushAck = 0
		fakefwd.WriteStatBlock(&buf, b)
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		w.observe(l, at.Add(10*time.Second))
	}
	w.check(at.Add(time.Hour))
	s := w.snapshot()
	if s.Watchdog.Verdict != verdictOff || s.Total.Blocks != 5 || s.Total.Received != 15 || *s.SX1302Counter != 9 || *s.TemperatureC != 40 {
		t.Errorf("snapshot %+v (watchdog %+v), want verdict off and 5 blocks counted", s, s.Watchdog)
	}
}

func TestStatInterval(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("global_conf.json", `{"SX130x_conf":{},"gateway_conf":{"gateway_ID":"AA555A0000000001"}}`)
	if d, err := statInterval(dir, false); err != nil || d != 30*time.Second {
		t.Errorf("no key: got %s, %v, want 30s (the forwarder's default)", d, err)
	}
	write("global_conf.json", `{"gateway_conf":{"stat_interval":2}}`)
	write("local_conf.json", `{"gateway_conf":{"stat_interval":5}}`)
	if d, err := statInterval(dir, false); err != nil || d != 2*time.Second {
		t.Errorf("SX1302 family: got %s, %v, want 2s (it never reads local_conf.json)", d, err)
	}
	if d, err := statInterval(dir, true); err != nil || d != 5*time.Second {
		t.Errorf("SX1301: got %s, %v, want 5s from local_conf.json", d, err)
	}
	write("global_conf.json", `{"gateway_conf":`)
	if d, err := statInterval(dir, false); err == nil || d != 30*time.Second || !strings.Contains(err.Error(), "global_conf.json") {
		t.Errorf("broken file: got %s, %v, want 30s and an error naming the file", d, err)
	}
}

// BenchmarkObserve is the watchdog's cost per statistics block as the
// supervisor pays it: every line of a real SX1302 block (with the log lines
// of other threads around it) through observe, under the lock, with totals
// and all rules. One op is one block.
func BenchmarkObserve(b *testing.B) {
	data, err := os.ReadFile("../stats/testdata/sx1302-lora-net-2.1.0-simhal.txt")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	w := newWatchdog()
	w.begin(watchRules{enabled: true, statInterval: time.Second, counter: true, noAck: time.Hour, noRx: time.Hour}, time.Now())
	defer w.end()
	now := time.Now()
	before := w.snapshot().Total.Blocks
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		for _, l := range lines {
			w.observe(l, now)
		}
		n += 5 // the capture holds 5 blocks
	}
	b.StopTimer()
	if got := w.snapshot().Total.Blocks - before; got < uint64(b.N) {
		b.Fatalf("counted %d blocks, want at least %d", got, b.N)
	}
}

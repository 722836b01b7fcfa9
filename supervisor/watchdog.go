package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/concentrator"
	"pktfwd/stats"
)

// The watchdog's rules; docs/forwarder-stats.md explains each.
const (
	RuleStalled     = "stalled"             // no statistics block for 2.5 stat intervals
	RuleWedged      = "concentrator_wedged" // SX1302 counter unknown or frozen for 3 blocks
	RuleUpstream    = "upstream_lost"       // PUSH_DATA sent, none acknowledged for WATCHDOG_NO_ACK_SECONDS
	RuleRadioSilent = "radio_silent"        // no packet received for WATCHDOG_NO_RX_SECONDS
)

// Verdicts that are not a rule.
const (
	verdictOK      = "ok"
	verdictWaiting = "waiting" // no block yet in this run
	verdictOff     = "off"     // WATCHDOG=false
)

const (
	stallFactor       = 2.5 // stat intervals without a block that make a stall
	wedgedBlocks      = 3   // blocks with an unknown or frozen counter that make a wedge
	defaultStatPeriod = 30 * time.Second
)

// Verdict is the watchdog's judgement that a running forwarder is of no
// use: the rule it broke, the evidence, when it was decided and when the
// evidence began (the last good block, or the start).
type Verdict struct {
	Rule   string    `json:"rule"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Since  time.Time `json:"since"`
}

// watchRules configure the watchdog for one forwarder run.
type watchRules struct {
	enabled      bool
	statInterval time.Duration // gateway_conf.stat_interval of the config in force
	counter      bool          // apply the counter rule (SX1302/SX1303)
	noAck, noRx  time.Duration // 0: rule off
}

// watchdog reads the forwarder's output, keeps its radio statistics and
// judges each run by the rules. It is fed from the output reader (feed),
// armed by the loop (begin, end) and wakes itself for the stall rule; it
// signals notify on each block and on a verdict. Safe for concurrent use.
type watchdog struct {
	notify chan struct{} // a block arrived or a verdict is pending

	mu       sync.Mutex
	rules    watchRules
	active   bool // between begin and end
	parser   stats.Parser
	stall    *time.Timer
	started  time.Time
	total    stats.Totals
	latest   *stats.Block
	latestAt time.Time // when latest arrived

	stuck      int // consecutive blocks with an unknown or unchanged counter
	stuckSince time.Time
	prevCount  *uint32 // the last known counter value
	lastAck    time.Time
	unacked    uint64 // PUSH_DATA sent since lastAck
	lastRx     time.Time

	verdict  *Verdict // of this run; taken once
	taken    bool
	last     *Verdict // the latest verdict acted upon
	repeats  int      // how many verdicts in a row had last's rule
	fired    int      // restarts the watchdog caused
	reported map[string]time.Time
}

func newWatchdog() *watchdog {
	return &watchdog{notify: make(chan struct{}, 1), reported: map[string]time.Time{}}
}

// begin starts judging a new forwarder run; totals carry over.
func (w *watchdog) begin(r watchRules, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopTimer()
	w.rules, w.active, w.started = r, true, now
	w.parser, w.latest, w.latestAt = stats.Parser{}, nil, time.Time{}
	w.stuck, w.prevCount, w.lastAck, w.unacked, w.lastRx = 0, nil, now, 0, now
	w.verdict, w.taken = nil, false
	w.armStall(now)
}

// end stops judging the run (the forwarder is stopping or gone).
func (w *watchdog) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active = false
	w.stopTimer()
}

func (w *watchdog) stopTimer() {
	if w.stall != nil {
		w.stall.Stop()
		w.stall = nil
	}
}

// armStall sets the stall deadline at 2.5 stat intervals after from.
func (w *watchdog) armStall(from time.Time) {
	if !w.rules.enabled || w.rules.statInterval <= 0 {
		return
	}
	d := time.Until(from.Add(w.stallAfter()))
	if w.stall == nil {
		w.stall = time.AfterFunc(d, func() { w.check(time.Now()) })
	} else {
		w.stall.Reset(d)
	}
}

func (w *watchdog) stallAfter() time.Duration {
	return time.Duration(stallFactor * float64(w.rules.statInterval))
}

// feed takes one line of the forwarder's output.
func (w *watchdog) feed(line string) { w.observe(line, time.Now()) }

// observe takes one line that arrived at now.
func (w *watchdog) observe(line string, now time.Time) {
	w.mu.Lock()
	b, ok := w.parser.Line(line)
	if ok {
		w.block(b, now)
	}
	w.mu.Unlock()
	if ok {
		poke(w.notify)
	}
}

// check applies the stall rule at now; the stall timer calls it.
func (w *watchdog) check(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.active || !w.rules.enabled || w.verdict != nil || w.rules.statInterval <= 0 {
		return
	}
	since := w.started
	what := "since the forwarder started"
	if w.latest != nil {
		since, what = w.latestAt, "since the last one"
	}
	if now.Sub(since) < w.stallAfter() {
		return
	}
	w.decide(Verdict{Rule: RuleStalled, At: now, Since: since,
		Reason: fmt.Sprintf("no statistics block for %s %s (stat_interval %s): the forwarder is alive but its radio thread is stuck",
			now.Sub(since).Round(time.Millisecond), what, w.rules.statInterval)})
}

// block counts a complete block in and applies the block rules.
func (w *watchdog) block(b stats.Block, now time.Time) {
	w.total.Add(b)
	prevAt := w.latestAt
	if prevAt.IsZero() {
		prevAt = w.started
	}
	w.latest, w.latestAt = &b, now
	if !w.active {
		return // the last block of a forwarder that is stopping
	}
	w.armStall(now)
	if !w.rules.enabled || w.verdict != nil {
		return
	}
	if v, ok := w.counterRule(b, now, prevAt); ok {
		w.decide(v)
		return
	}
	if b.Has&stats.FieldPushSent != 0 && b.Has&stats.FieldPushAck != 0 && b.PushSent > 0 {
		if b.PushAck > 0 {
			w.lastAck, w.unacked = now, 0
		} else if w.unacked += uint64(b.PushSent); w.rules.noAck > 0 && now.Sub(w.lastAck) >= w.rules.noAck {
			w.decide(Verdict{Rule: RuleUpstream, At: now, Since: w.lastAck,
				Reason: fmt.Sprintf("%d PUSH_DATA sent and none acknowledged for %s: the server address %s",
					w.unacked, now.Sub(w.lastAck).Round(time.Second), "may have been resolved before the gateway was up; restarting re-resolves it")})
			return
		}
	}
	if b.Has&stats.FieldReceived != 0 {
		if b.Received > 0 {
			w.lastRx = now
		} else if w.rules.noRx > 0 && now.Sub(w.lastRx) >= w.rules.noRx {
			w.decide(Verdict{Rule: RuleRadioSilent, At: now, Since: w.lastRx,
				Reason: fmt.Sprintf("no RF packet received for %s (WATCHDOG_NO_RX_SECONDS)", now.Sub(w.lastRx).Round(time.Second))})
		}
	}
}

// counterRule: an SX1302's counter that reads unknown, or does not move
// between consecutive blocks, in 3 blocks in a row means a wedged chip.
// prevAt is when the block before b arrived.
func (w *watchdog) counterRule(b stats.Block, now, prevAt time.Time) (Verdict, bool) {
	if !w.rules.counter || b.Family != stats.FamilySX1302 || b.Has&stats.FieldCounter == 0 {
		return Verdict{}, false
	}
	prev := w.prevCount // the last value read, across unknown readings
	if b.CounterKnown {
		c := b.Counter
		w.prevCount = &c
	}
	if b.CounterKnown && (prev == nil || *prev != b.Counter) {
		w.stuck = 0
		return Verdict{}, false
	}
	if w.stuck == 0 {
		w.stuckSince = prevAt // the last block with a moving counter
	}
	w.stuck++
	if w.stuck < wedgedBlocks {
		return Verdict{}, false
	}
	what := "read unknown"
	if b.CounterKnown {
		what = fmt.Sprintf("stuck at %d", b.Counter)
	}
	return Verdict{Rule: RuleWedged, At: now, Since: w.stuckSince,
		Reason: fmt.Sprintf("the SX1302 counter %s in %d blocks in a row: the concentrator is wedged", what, w.stuck)}, true
}

func (w *watchdog) decide(v Verdict) {
	w.verdict = &v
	poke(w.notify) // never blocks
}

// take returns this run's verdict once, and how many verdicts in a row
// (this one included) had the same rule.
func (w *watchdog) take() (Verdict, int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.active || w.verdict == nil || w.taken {
		return Verdict{}, 0, false
	}
	w.taken = true
	v := *w.verdict
	if w.last != nil && w.last.Rule == v.Rule {
		w.repeats++
	} else {
		w.repeats = 1
	}
	w.last = &v
	w.fired++
	return v, w.repeats, true
}

// shouldReport rate-limits reports: one per rule per interval.
func (w *watchdog) shouldReport(rule string, now time.Time, every time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.reported[rule]; ok && now.Sub(t) < every {
		return false
	}
	w.reported[rule] = now
	return true
}

// RadioStats is the radio part of status.json: the forwarder's latest
// statistics block, totals since pktfwd started, and the watchdog.
type RadioStats struct {
	Family           string         `json:"family,omitempty"` // sx1302 or sx1301, from the blocks
	StatIntervalSecs float64        `json:"stat_interval_seconds"`
	LastBlockAt      *time.Time     `json:"last_block_at,omitempty"`
	Interval         *IntervalStats `json:"interval,omitempty"` // the latest block
	Total            TotalStats     `json:"total"`
	SX1302Counter    *uint32        `json:"sx1302_counter,omitempty"`
	CounterUnknown   bool           `json:"sx1302_counter_unknown,omitempty"`
	TemperatureC     *float64       `json:"temperature_c,omitempty"`
	Watchdog         WatchdogStatus `json:"watchdog"`
}

// IntervalStats are the figures of one block (one stat_interval).
type IntervalStats struct {
	Received   uint32  `json:"received"`
	CRCOK      uint64  `json:"crc_ok"`
	Forwarded  uint32  `json:"forwarded"`
	PushSent   uint32  `json:"push_data_sent"`
	PushAckPct float64 `json:"push_data_ack_percent"`
	PullSent   uint32  `json:"pull_data_sent"`
	PullAckPct float64 `json:"pull_data_ack_percent"`
	Downlinks  uint32  `json:"downlinks_sent"`
	TXErrors   uint32  `json:"tx_errors"`
}

// TotalStats are the running totals since pktfwd started.
type TotalStats struct {
	stats.Totals
	PushAckPct float64 `json:"push_data_ack_percent"`
	PullAckPct float64 `json:"pull_data_ack_percent"`
}

// WatchdogStatus is the watchdog's current verdict: ok, waiting (no block
// yet), off, or the rule the running forwarder broke.
type WatchdogStatus struct {
	Verdict  string     `json:"verdict"`
	Reason   string     `json:"reason,omitempty"`
	At       *time.Time `json:"at,omitempty"`
	Since    *time.Time `json:"since,omitempty"`        // when the evidence began
	Restarts int        `json:"restarts"`               // forwarder restarts it caused
	Last     *Verdict   `json:"last_verdict,omitempty"` // the latest one acted upon
}

// snapshot returns the radio statistics as status.json shows them.
func (w *watchdog) snapshot() *RadioStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := &RadioStats{
		StatIntervalSecs: w.rules.statInterval.Seconds(),
		Total:            TotalStats{Totals: w.total, PushAckPct: w.total.PushAckPercent(), PullAckPct: w.total.PullAckPercent()},
		Watchdog:         WatchdogStatus{Verdict: verdictWaiting, Restarts: w.fired, Last: w.last},
	}
	if b := w.latest; b != nil {
		at := w.latestAt.UTC()
		r.LastBlockAt, r.Watchdog.Verdict = &at, verdictOK
		if b.Family != stats.FamilyUnknown {
			r.Family = b.Family.String()
		}
		r.Interval = &IntervalStats{
			Received: b.Received, CRCOK: uint64(float64(b.Received)*b.CRCOK/100 + 0.5), Forwarded: b.Forwarded,
			PushSent: b.PushSent, PushAckPct: b.PushAck, PullSent: b.PullSent, PullAckPct: b.PullAck,
			Downlinks: b.Downlinks, TXErrors: b.TXErrors,
		}
		if b.Family == stats.FamilySX1302 && b.Has&stats.FieldCounter != 0 {
			if b.CounterKnown {
				c := b.Counter
				r.SX1302Counter = &c
			} else {
				r.CounterUnknown = true
			}
		}
		if b.TempKnown {
			t := b.TempC
			r.TemperatureC = &t
		}
	}
	switch {
	case !w.rules.enabled:
		r.Watchdog.Verdict = verdictOff
	case w.verdict != nil:
		at, since := w.verdict.At.UTC(), w.verdict.Since.UTC()
		r.Watchdog.Verdict, r.Watchdog.Reason, r.Watchdog.At, r.Watchdog.Since = w.verdict.Rule, w.verdict.Reason, &at, &since
	}
	return r
}

// statInterval reads gateway_conf.stat_interval from the config the
// forwarder is about to read in dir: global_conf.json, and for SX1301
// local_conf.json on top. Without the key it is 30 s, as in the forwarder.
func statInterval(dir string, sx1301 bool) (time.Duration, error) {
	d := defaultStatPeriod
	names := []string{"global_conf.json"}
	if sx1301 {
		names = append(names, "local_conf.json")
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if errors.Is(err, fs.ErrNotExist) && n == "local_conf.json" {
			continue
		}
		if err != nil {
			return d, fmt.Errorf("read the stat interval: %w", err)
		}
		var conf struct {
			Gateway *struct {
				StatInterval *float64 `json:"stat_interval"`
			} `json:"gateway_conf"`
		}
		if err := json.Unmarshal(b, &conf); err != nil {
			return d, fmt.Errorf("read the stat interval from %s: %w", filepath.Join(dir, n), err)
		}
		if conf.Gateway != nil && conf.Gateway.StatInterval != nil && *conf.Gateway.StatInterval > 0 {
			d = Seconds(*conf.Gateway.StatInterval)
		}
	}
	return d, nil
}

// reportEvery rate-limits the watchdog's reports, per rule.
const reportEvery = time.Hour

// watchForwarder arms the watchdog for the forwarder about to start, with
// the stat interval of the config just written.
func (s *Supervisor) watchForwarder() {
	coreCell := s.chip.Model.CoreCell()
	si, err := statInterval(s.cfg.RootDir, !coreCell)
	if err != nil {
		s.once("stat_interval", fmt.Sprintf("watchdog: %v; assuming %s", err, si))
	}
	s.wd.begin(watchRules{
		enabled: s.cfg.Watchdog, statInterval: si, counter: coreCell,
		noAck: Seconds(s.cfg.WatchdogNoAckSeconds), noRx: Seconds(s.cfg.WatchdogNoRxSeconds),
	}, time.Now())
	s.update(func(st *Status) { st.Radio = s.wd.snapshot() })
}

// watchdogRestart runs when the watchdog signals: it writes the new
// statistics into the status, or, on a verdict, logs it once with the
// evidence, writes diagnostics false, reports it (rate-limited), stops the
// forwarder and power-cycles the concentrator when the same verdict came
// again. It returns true when the forwarder was stopped; the loop then
// restarts it with the normal back-off, and launch resets the chip.
func (s *Supervisor) watchdogRestart(ctx context.Context, proc *process) bool {
	v, repeats, ok := s.wd.take()
	if !ok {
		s.update(func(st *Status) { st.Radio = s.wd.snapshot() })
		return false
	}
	lines := proc.lastLines()
	s.log.WithFields(logrus.Fields{"rule": v.Rule, "pid": proc.pid(), "chip": s.chip.Model, "since": v.Since.UTC().Format(time.RFC3339Nano), "in_a_row": repeats}).
		Errorf("watchdog: %s: %s; restarting the forwarder", v.Rule, v.Reason)
	s.setDiagnostics(false)
	s.update(func(st *Status) { st.Radio, st.LastError = s.wd.snapshot(), "watchdog: "+v.Rule+": "+v.Reason })
	if s.opt.Reporter != nil && s.wd.shouldReport(v.Rule, v.At, reportEvery) {
		tags := s.tags()
		tags["watchdog"] = v.Rule
		s.opt.Reporter.Report(fmt.Errorf("watchdog: %s: %s", v.Rule, v.Reason), tags, lines)
	}
	s.stopForwarder(proc, "watchdog: "+v.Rule)
	if repeats > 1 {
		s.powerCycle(ctx, v.Rule, repeats)
	}
	s.update(func(st *Status) { st.State, st.Restarts, st.Radio = StateBackoff, st.Restarts+1, s.wd.snapshot() })
	return true
}

// powerCycle escalates a verdict that a reset did not cure.
func (s *Supervisor) powerCycle(ctx context.Context, rule string, repeats int) {
	switch err := s.lines.PowerCycle(ctx); {
	case errors.Is(err, concentrator.ErrNoPowerLine):
		s.log.Warnf("watchdog: %s %d times in a row; this board has no POWER_EN_GPIO to power-cycle the concentrator, so it is only reset", rule, repeats)
	case err != nil:
		s.log.Warnf("watchdog: could not power-cycle the concentrator: %v", err)
	default:
		s.log.Warnf("watchdog: %s %d times in a row: power-cycled the concentrator through POWER_EN_GPIO", rule, repeats)
	}
}

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
	"pktfwd/watchdog"
)

// The watchdog's rules (package watchdog; docs/watchdog.md explains each).
const (
	RuleStalled      = watchdog.Stalled
	RuleWedged       = watchdog.Wedged
	RuleStartTimeout = watchdog.StartTimeout
	RuleUpstream     = watchdog.UpstreamLost // reported, never a restart
	RuleDownlink     = watchdog.DownlinkLost // reported, never a restart
	RuleRadioSilent  = watchdog.RadioSilent
	RuleNoPullData   = watchdog.NoPullData
)

// Verdicts that are not a rule.
const (
	verdictOK      = "ok"
	verdictWaiting = "waiting" // no block yet in this run
	verdictOff     = "off"     // WATCHDOG=false
)

const (
	stallFactor       = 2.5 // stat intervals without a block that make a stall
	defaultStatPeriod = 30 * time.Second
	defaultKeepalive  = 5 * time.Second // the forwarders' default keepalive_interval
	maxPending        = 256             // observations queued for the loop before the oldest are dropped
)

// RuleTag is the tag that names the watchdog rule in a report, so that a
// Reporter can group reports by rule rather than by message text.
const RuleTag = "watchdog"

// Verdict is the watchdog's judgement that a running forwarder is of no
// use: the rule it broke, the evidence, when it was decided and when the
// evidence began.
type Verdict = watchdog.Verdict

// observation is one thing the forwarder printed that the rules use.
type observation struct {
	at    time.Time
	line  watchdog.Line
	block *stats.Block
}

// output turns one forwarder run's output into observations: the output
// reader feeds it line by line, the loop takes what has arrived. The
// reader never waits for the loop (a loop busy stopping a forwarder must
// not block the reader it is waiting for).
type output struct {
	notify chan struct{}

	mu      sync.Mutex
	parser  stats.Parser
	pending []observation
	dropped int
}

// feed takes one line the forwarder printed; the output reader calls it.
func (o *output) feed(line string) {
	now := time.Now()
	k := watchdog.Classify(line)
	o.mu.Lock()
	b, ok := o.parser.Line(line)
	if ok || k != watchdog.OtherLine {
		obs := observation{at: now, line: k}
		if ok {
			obs.block = &b
		}
		if len(o.pending) == maxPending {
			o.pending, o.dropped = o.pending[1:], o.dropped+1
		}
		o.pending = append(o.pending, obs)
	}
	o.mu.Unlock()
	if ok || k != watchdog.OtherLine {
		poke(o.notify)
	}
}

// take returns what arrived since the last call.
func (o *output) take() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.pending
	o.pending = nil
	return p
}

// relayBox carries the relay's observations to the loop: the relay calls
// put whenever they change, the loop reads the latest.
type relayBox struct {
	notify chan struct{}
	mu     sync.Mutex
	latest watchdog.Relay
	fresh  bool
}

func (r *relayBox) put(e watchdog.Relay) {
	r.mu.Lock()
	r.latest, r.fresh = e, true
	r.mu.Unlock()
	poke(r.notify)
}

func (r *relayBox) get() (watchdog.Relay, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.fresh
	r.fresh = false
	return r.latest, f
}

// watch is the loop's side of the watchdog: the evidence of the current
// run, the statistics for status.json, and what was done about verdicts.
// Only the loop uses it, except notify and relay.
type watch struct {
	notify  chan struct{} // an observation or relay report arrived
	relay   relayBox
	enabled bool

	run      *watchdog.Run
	out      *output
	total    stats.Totals
	latest   *stats.Block
	latestAt time.Time // monotonic: when latest arrived
	j        watchdog.Judgement

	esc      watchdog.Escalation
	last     *Verdict // the latest verdict acted upon
	fired    int      // restarts the watchdog caused
	noticed  string   // the notice logged in this run
	paused   bool     // the rules are held after a pause of pktfwd
	upstream *Verdict // the upstream problem reported in this episode
	reported map[string]time.Time
}

func newWatch() *watch {
	w := &watch{notify: make(chan struct{}, 1), reported: map[string]time.Time{}}
	w.relay.notify = w.notify
	return w
}

// observeRelay takes the GWMP relay's observations; the relay calls it
// from its own goroutine whenever they change (docs/watchdog.md, "Relay").
func (s *Supervisor) observeRelay(e watchdog.Relay) { s.wd.relay.put(e) }

// begin starts the evidence of a forwarder run started at start, whose
// output reader feeds out.
func (w *watch) begin(cfg watchdog.Config, enabled bool, start time.Time, out *output) {
	w.enabled = enabled
	w.run = watchdog.NewRun(cfg, start)
	w.out = out
	w.latest, w.latestAt, w.noticed, w.upstream = nil, time.Time{}, "", nil
	w.j = watchdog.Judgement{Upstream: watchdog.StateWaiting}
}

// absorb moves what arrived into the evidence and the totals.
func (w *watch) absorb() {
	if w.out == nil {
		return
	}
	for _, o := range w.out.take() {
		if o.block != nil {
			w.total.Add(*o.block)
			w.latest, w.latestAt = o.block, o.at
			w.run.Block(*o.block, o.at)
		}
		w.run.Output(o.line, o.at)
	}
	if e, ok := w.relay.get(); ok {
		w.run.SetRelay(e)
	}
}

// judge absorbs the evidence and applies the rules at now.
func (w *watch) judge(now time.Time) watchdog.Judgement {
	w.absorb()
	w.j = w.run.Judge(now)
	return w.j
}

// shouldReport rate-limits reports: one per rule per interval.
func (w *watch) shouldReport(rule string, now time.Time, every time.Duration) bool {
	if t, ok := w.reported[rule]; ok && now.Sub(t) < every {
		return false
	}
	w.reported[rule] = now
	return true
}

// RadioStats is the radio part of status.json: the forwarder's latest
// statistics block, totals since pktfwd started, and the watchdog.
type RadioStats struct {
	Family           string     `json:"family,omitempty"` // sx1302 or sx1301, from the blocks
	StatIntervalSecs float64    `json:"stat_interval_seconds"`
	LastBlockAt      *time.Time `json:"last_block_at,omitempty"`
	// LastBlockAgeSecs is how long before updated_at the latest block
	// arrived, measured on the monotonic clock when status.json was
	// written; health uses it rather than a difference of wall clocks.
	LastBlockAgeSecs *float64       `json:"last_block_age_seconds,omitempty"`
	Interval         *IntervalStats `json:"interval,omitempty"` // the latest block
	Total            TotalStats     `json:"total"`
	SX1302Counter    *uint32        `json:"sx1302_counter,omitempty"`
	CounterUnknown   bool           `json:"sx1302_counter_unknown,omitempty"`
	TemperatureC     *float64       `json:"temperature_c,omitempty"`
	Upstream         UpstreamStatus `json:"upstream"`
	Watchdog         WatchdogStatus `json:"watchdog"`

	lastBlock time.Time // monotonic: when the latest block arrived
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

// UpstreamStatus is the state of the server the forwarder sends to (in
// relay mode, the relay's primary upstream): ok, waiting, lost or
// downlink_lost. A lost upstream is reported, never a reason to restart.
type UpstreamStatus struct {
	State  string     `json:"state"`
	Reason string     `json:"reason,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
}

// WatchdogStatus is the watchdog's current verdict: ok, waiting (no block
// yet), off, or the rule the running forwarder broke.
type WatchdogStatus struct {
	Verdict string     `json:"verdict"`
	Reason  string     `json:"reason,omitempty"`
	At      *time.Time `json:"at,omitempty"`
	Since   *time.Time `json:"since,omitempty"` // when the evidence began
	// StallRuleOff says why the rules that time the output (stalled,
	// start_timeout) and health's block-age check are off, if they are.
	StallRuleOff string   `json:"stall_rule_off,omitempty"`
	Restarts     int      `json:"restarts"`               // forwarder restarts it caused
	Last         *Verdict `json:"last_verdict,omitempty"` // the latest one acted upon
}

// noTerminal is why the timing rules are off without a terminal.
const noTerminal = "the forwarder's output comes through a pipe (no pseudo-terminal), so its blocks arrive in 4 KiB bursts minutes apart"

// snapshot returns the radio statistics as status.json shows them.
func (w *watch) snapshot() *RadioStats {
	cfg := w.run.Config()
	r := &RadioStats{
		StatIntervalSecs: cfg.StatInterval.Seconds(),
		Total:            TotalStats{Totals: w.total, PushAckPct: w.total.PushAckPercent(), PullAckPct: w.total.PullAckPercent()},
		Upstream:         UpstreamStatus{State: string(w.j.Upstream)},
		Watchdog:         WatchdogStatus{Verdict: verdictWaiting, Restarts: w.fired, Last: w.last},
	}
	if !cfg.Terminal {
		r.Watchdog.StallRuleOff = noTerminal
	}
	if p := w.j.Report; p != nil {
		since := p.Since.UTC()
		r.Upstream.Reason, r.Upstream.Since = p.Reason, &since
	}
	if b := w.latest; b != nil {
		at := w.latestAt.UTC()
		r.LastBlockAt, r.lastBlock, r.Watchdog.Verdict = &at, w.latestAt, verdictOK
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
	switch v := w.j.Verdict; {
	case !w.enabled:
		r.Watchdog.Verdict = verdictOff
	case v != nil:
		at, since := v.At.UTC(), v.Since.UTC()
		r.Watchdog.Verdict, r.Watchdog.Reason, r.Watchdog.At, r.Watchdog.Since = v.Rule, v.Reason, &at, &since
	}
	return r
}

// gatewayConf reads gateway_conf.stat_interval and keepalive_interval
// from the config the forwarder is about to read in dir: global_conf.json,
// and for SX1301 local_conf.json on top. Missing keys keep the forwarder's
// defaults, 30 s and 5 s.
func gatewayConf(dir string, sx1301 bool) (stat, keepalive time.Duration, err error) {
	stat, keepalive = defaultStatPeriod, defaultKeepalive
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
			return stat, keepalive, fmt.Errorf("read the stat interval: %w", err)
		}
		var conf struct {
			Gateway *struct {
				StatInterval *float64 `json:"stat_interval"`
				Keepalive    *float64 `json:"keepalive_interval"`
			} `json:"gateway_conf"`
		}
		if err := json.Unmarshal(b, &conf); err != nil {
			return stat, keepalive, fmt.Errorf("read the stat interval from %s: %w", filepath.Join(dir, n), err)
		}
		if g := conf.Gateway; g != nil {
			if g.StatInterval != nil && *g.StatInterval > 0 {
				stat = Seconds(*g.StatInterval)
			}
			if g.Keepalive != nil && *g.Keepalive > 0 {
				keepalive = Seconds(*g.Keepalive)
			}
		}
	}
	return stat, keepalive, nil
}

// reportEvery rate-limits the watchdog's reports, per rule.
const reportEvery = time.Hour

// watchForwarder starts the evidence of the forwarder started at start,
// whose output reader feeds out, with the intervals of the config just
// written.
func (s *Supervisor) watchForwarder(out *output, start time.Time, terminal bool) {
	coreCell := s.chip.Model.CoreCell()
	si, ka, err := gatewayConf(s.cfg.RootDir, !coreCell)
	if err != nil {
		s.once("stat_interval", fmt.Sprintf("watchdog: %v; assuming %s", err, si))
	}
	s.wd.begin(watchdog.Config{
		StatInterval: si, Keepalive: ka, Counter: coreCell, Terminal: terminal, Relay: s.relayMode, StartLimit: s.opt.StartLimit,
		NoAck: Seconds(s.cfg.WatchdogNoAckSeconds), NoRx: Seconds(s.cfg.WatchdogNoRxSeconds),
	}, s.cfg.Watchdog, start, out)
	s.update(func(st *Status) { st.Radio = s.wd.snapshot() })
}

// watchdogCheck judges the running forwarder at now: it writes the new
// statistics into the status, logs a notice or an upstream problem once,
// and on a verdict stops the forwarder (watchdogRestart). It returns the
// time of the next check (zero: none due), and true when the forwarder
// was stopped.
func (s *Supervisor) watchdogCheck(ctx context.Context, proc *process, now time.Time) (time.Time, bool) {
	j := s.wd.judge(now)
	if !s.wd.enabled {
		s.update(func(st *Status) { st.Radio = s.wd.snapshot() })
		return time.Time{}, false
	}
	if j.Notice != "" && s.wd.noticed == "" { // once per run: its figures change with every block
		s.wd.noticed = j.Notice
		s.log.WithField("rule", RuleUpstream).Warnf("watchdog: %s", j.Notice)
	}
	s.upstreamReport(j.Report)
	if j.Paused && !s.wd.paused {
		s.log.Infof("watchdog: pktfwd itself was paused (a check came late); judging again in one stat interval, after the output that waited is read")
	}
	s.wd.paused = j.Paused
	if j.Verdict == nil {
		s.update(func(st *Status) { st.Radio = s.wd.snapshot() })
		return j.Next, false
	}
	return time.Time{}, s.watchdogRestart(ctx, proc, *j.Verdict)
}

// upstreamReport logs and reports an unreachable upstream once per
// episode, and its recovery; it never stops the forwarder.
func (s *Supervisor) upstreamReport(p *Verdict) {
	switch {
	case p == nil && s.wd.upstream != nil:
		s.log.WithField("rule", s.wd.upstream.Rule).Infof("watchdog: the upstream answers again (%s is over)", s.wd.upstream.Rule)
		s.wd.upstream = nil
	case p != nil && (s.wd.upstream == nil || s.wd.upstream.Rule != p.Rule):
		s.wd.upstream = p
		s.log.WithFields(logrus.Fields{"rule": p.Rule, "since": p.Since.UTC().Format(time.RFC3339Nano)}).
			Errorf("watchdog: %s: %s; the forwarder is left running (a restart cannot mend a network)", p.Rule, p.Reason)
		if s.opt.Reporter != nil && s.wd.shouldReport(p.Rule, p.At, reportEvery) {
			tags := s.tags()
			tags[RuleTag] = p.Rule
			s.opt.Reporter.Report(fmt.Errorf("watchdog: %s: %s", p.Rule, p.Reason), tags, nil)
		}
	}
}

// watchdogRestart acts on a verdict: it logs it once with the evidence,
// writes diagnostics false, reports it (rate-limited), stops the forwarder
// and power-cycles the concentrator when Escalation says so. It returns
// true when the forwarder was stopped; the loop then restarts it with the
// normal back-off, and launch resets the chip. A forwarder that exited by
// itself at the same moment is left to the exit's handling (false).
func (s *Supervisor) watchdogRestart(ctx context.Context, proc *process, v Verdict) bool {
	if proc.hasExited() {
		return false // the exit is the truth: its log, cause and report come next
	}
	lines := proc.lastLines()
	s.wd.last = &v
	s.wd.fired++
	cycle := s.wd.esc.Verdict(v.Rule)
	s.log.WithFields(logrus.Fields{"rule": v.Rule, "pid": proc.pid(), "chip": s.chip.Model, "since": v.Since.UTC().Format(time.RFC3339Nano), "power_cycle": cycle}).
		Errorf("watchdog: %s: %s; restarting the forwarder", v.Rule, v.Reason)
	s.setDiagnostics(false)
	s.update(func(st *Status) { st.Radio, st.LastError = s.wd.snapshot(), "watchdog: "+v.Rule+": "+v.Reason })
	if s.opt.Reporter != nil && s.wd.shouldReport(v.Rule, v.At, reportEvery) {
		tags := s.tags()
		tags[RuleTag] = v.Rule
		s.opt.Reporter.Report(fmt.Errorf("watchdog: %s: %s", v.Rule, v.Reason), tags, lines)
	}
	s.stopForwarder(proc, "watchdog: "+v.Rule)
	if cycle {
		s.powerCycle(ctx, v.Rule)
	}
	s.update(func(st *Status) { st.State, st.Restarts, st.Radio = StateBackoff, st.Restarts+1, s.wd.snapshot() })
	return true
}

// powerCycle escalates a concentrator verdict that a reset did not cure.
func (s *Supervisor) powerCycle(ctx context.Context, rule string) {
	switch err := s.lines.PowerCycle(ctx); {
	case errors.Is(err, concentrator.ErrNoPowerLine):
		s.log.Warnf("watchdog: %s a second time since the forwarder last ran stably; this board has no POWER_EN_GPIO to power-cycle the concentrator, so it is only reset", rule)
	case err != nil:
		s.log.Warnf("watchdog: could not power-cycle the concentrator: %v", err)
	default:
		s.log.Warnf("watchdog: %s a second time since the forwarder last ran stably: power-cycled the concentrator through POWER_EN_GPIO", rule)
	}
}

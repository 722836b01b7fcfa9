// Package watchdog holds pktfwd's rules for a forwarder that runs but is
// of no use, as functions of evidence and time: what the forwarder printed
// (statistics blocks, its "concentrator started" line, PULL_ACK and
// PUSH_ACK lines) with the moments they arrived, whether its output comes
// through a terminal, and what the GWMP relay saw. It has no timers,
// goroutines, locks or I/O: the caller passes the time in, and a Judgement
// says when to ask again. docs/watchdog.md explains each rule.
//
// Every time.Time given to this package must carry a monotonic reading
// (time.Now(), or values derived from it with Add): rules measure
// durations, and a wall-clock step must not move them.
package watchdog

import (
	"fmt"
	"strings"
	"time"

	"pktfwd/stats"
)

// The rules. A verdict of the first five restarts the forwarder; the last
// two describe the network and are only reported (see Restarts).
const (
	Stalled         = "stalled"             // no statistics block for 2.5 stat intervals after the start
	Wedged          = "concentrator_wedged" // SX1302 counter unknown or frozen in 3 blocks in a row
	StartTimeout    = "start_timeout"       // no "concentrator started" within the start limit
	RadioSilent     = "radio_silent"        // no packet forwarded for WATCHDOG_NO_RX_SECONDS
	NoPullData      = "no_pull_data"        // relay: no PULL_DATA from the forwarder for 3 keepalives
	UpstreamLost    = "upstream_lost"       // no PUSH_ACK and no PULL_ACK for WATCHDOG_NO_ACK_SECONDS
	DownlinkLost    = "downlink_lost"       // direct mode: PULL_DATA unacknowledged DeadDownlinkPulls times in a row
	stallFactor     = 2.5
	relayKeepalives = 3
)

// Tunables of the rules; docs/watchdog.md gives the reasons.
const (
	// WedgedBlocks is how many blocks in a row with an unknown or
	// unchanged SX1302 counter make a wedged concentrator.
	WedgedBlocks = 3
	// DeadDownlinkPulls is how many PULL_DATA in a row without a PULL_ACK
	// make the downlink path dead.
	DeadDownlinkPulls = 6
	// DefaultStartLimit is the time allowed from the process start to its
	// "concentrator started" line: a real SX1302 needs seconds (firmware
	// load, calibration), a USB one more.
	DefaultStartLimit = 2 * time.Minute
	// PauseSlack is how late the caller may ask, after the deadline a
	// judgement gave, before the lateness counts as a pause of pktfwd
	// (SIGSTOP, docker pause, a swap storm).
	PauseSlack = 250 * time.Millisecond
)

// Restarts tells whether a verdict of rule stops and restarts the
// forwarder. Network rules do not: a restart cannot mend a network.
func Restarts(rule string) bool { return rule != UpstreamLost && rule != DownlinkLost }

// Concentrator tells whether rule points at the concentrator itself: only
// these may escalate to a power cycle (see Escalation).
func Concentrator(rule string) bool { return rule == Stalled || rule == Wedged }

// Config is what the rules need to know of one forwarder run.
type Config struct {
	StatInterval time.Duration // gateway_conf.stat_interval of the config in force
	Keepalive    time.Duration // gateway_conf.keepalive_interval (the relay's rule)
	Counter      bool          // apply the counter rule (SX1302 family)
	NoAck        time.Duration // upstream_lost after this long; 0: off
	NoRx         time.Duration // radio_silent after this long; 0: off
	StartLimit   time.Duration // 0: DefaultStartLimit
	// Terminal is true when the forwarder's output comes through a
	// pseudo-terminal, line by line as printed. Through a pipe it comes in
	// 4 KiB bursts minutes apart, so the rules that time the output
	// (stalled, start_timeout) are off.
	Terminal bool
	// Relay is true when pktfwd relays the forwarder's GWMP traffic: the
	// forwarder is acknowledged locally, so its own ack figures say
	// nothing of the upstream, and the relay's observations (Relay) are
	// judged instead.
	Relay bool
}

// Line is a kind of output line the rules use besides the blocks.
type Line int

// The lines.
const (
	OtherLine  Line = iota
	Started         // INFO: [main] concentrator started, packet can now be received
	PullAck         // INFO: [down] PULL_ACK received in N ms
	PushAck         // INFO: [up] PUSH_ACK received in N ms
	StartedMsg = "concentrator started, packet can now be received"
)

// Classify tells which kind of line s is; both forwarder families print
// the same three.
func Classify(s string) Line {
	switch {
	case strings.Contains(s, StartedMsg):
		return Started
	case strings.Contains(s, "PULL_ACK received"):
		return PullAck
	case strings.Contains(s, "PUSH_ACK received"):
		return PushAck
	}
	return OtherLine
}

// UpstreamState is the state of the server the forwarder (or the relay's
// primary upstream) sends to.
type UpstreamState string

// The states, as status.json shows them.
const (
	StateWaiting      UpstreamState = "waiting" // nothing sent or answered yet
	StateOK           UpstreamState = "ok"
	StateLost         UpstreamState = "lost"          // nothing answered for WATCHDOG_NO_ACK_SECONDS
	StateDownlinkLost UpstreamState = "downlink_lost" // PUSH_DATA answered, PULL_DATA not
)

// Relay is what the GWMP relay reports to the watchdog. The relay sets it
// whenever it changes; zero times mean "not yet".
type Relay struct {
	// LastPullData is when the relay last received a PULL_DATA from the
	// forwarder (monotonic).
	LastPullData time.Time
	// Primary is the primary upstream's state, and PrimarySince when it
	// entered it; PrimaryReason says why it is not ok.
	Primary       UpstreamState
	PrimarySince  time.Time
	PrimaryReason string
}

// Verdict is a rule broken: when it was decided, and when its evidence
// began (the last good block, the start, the last acknowledgement).
type Verdict struct {
	Rule   string    `json:"rule"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Since  time.Time `json:"since"`
}

// Judgement is the outcome of Judge.
type Judgement struct {
	// Verdict is non-nil when a rule that restarts the forwarder is broken.
	Verdict *Verdict
	// Upstream is the state of the server, with Report set when it is not
	// ok (upstream_lost or downlink_lost: log and report, never restart).
	Upstream UpstreamState
	Report   *Verdict
	// Notice is a finding worth one log line, e.g. why PUSH_DATA shows
	// 0 % acknowledged while the server answers PULL_DATA.
	Notice string
	// Next is when to judge again though no evidence arrived; zero when
	// only new evidence can change the outcome.
	Next time.Time
	// Paused is true when the caller asked much later than Next asked: the
	// time rules were held for one stat interval, so that the output that
	// waited in the terminal is read first.
	Paused bool
}

// Run is the evidence of one forwarder run. Create it with NewRun, feed it
// with Output, Block and SetRelay in the order things arrived, and ask
// Judge. Its methods change only the Run itself.
type Run struct {
	cfg     Config
	start   time.Time // the process started
	started time.Time // its "concentrator started" line (or first block)

	blocks    int
	lastBlock time.Time

	prevCount  uint32
	hasPrev    bool
	stuck      int
	stuckSince time.Time
	lastCount  stats.Block // the latest block with a counter line

	lastPushAck time.Time // a PUSH_DATA was acknowledged (block or line)
	unacked     uint64    // PUSH_DATA sent since lastPushAck
	lastPullAck time.Time // a PULL_ACK arrived (block or line)
	pullUnacked int       // PULL_DATA sent since lastPullAck
	pushed      bool      // a PUSH_DATA was sent

	lastForwarded time.Time // a packet was forwarded (or the start)
	rxSince       uint64    // packets received since lastForwarded

	relay Relay

	due  time.Time // the Next of the latest judgement
	hold time.Time // time rules held until then (after a pause)
	done *Verdict  // the verdict given, once
}

// NewRun starts the evidence of a forwarder started at start.
func NewRun(cfg Config, start time.Time) *Run {
	if cfg.StartLimit <= 0 {
		cfg.StartLimit = DefaultStartLimit
	}
	return &Run{cfg: cfg, start: start, lastPushAck: start, lastPullAck: start, lastForwarded: start}
}

// Config returns the run's configuration.
func (r *Run) Config() Config { return r.cfg }

// StartedAt returns when the concentrator started (zero before).
func (r *Run) StartedAt() time.Time { return r.started }

// LastBlock returns when the latest complete block arrived (zero before).
func (r *Run) LastBlock() time.Time { return r.lastBlock }

// Output takes a line of the forwarder's output of kind k that arrived at.
func (r *Run) Output(k Line, at time.Time) {
	switch k {
	case Started:
		if r.started.IsZero() {
			r.started = at
		}
	case PullAck:
		r.lastPullAck, r.pullUnacked = at, 0
	case PushAck:
		r.lastPushAck, r.unacked = at, 0
	}
}

// Block takes a complete statistics block that arrived at.
func (r *Run) Block(b stats.Block, at time.Time) {
	if r.started.IsZero() {
		r.started = at // an older build without the line: the block proves the start
	}
	r.blocks++
	r.lastBlock = at
	r.counter(b, at)
	if b.Has&stats.FieldPushSent != 0 && b.Has&stats.FieldPushAck != 0 && b.PushSent > 0 {
		r.pushed = true
		if b.PushAck > 0 {
			r.lastPushAck, r.unacked = at, 0
		} else {
			r.unacked += uint64(b.PushSent)
		}
	}
	if b.Has&stats.FieldPull != 0 && b.PullSent > 0 {
		if b.PullAck > 0 {
			r.lastPullAck, r.pullUnacked = at, 0
		} else {
			r.pullUnacked += int(b.PullSent)
		}
	}
	if b.Has&stats.FieldForwarded != 0 {
		if b.Forwarded > 0 {
			r.lastForwarded, r.rxSince = at, 0
		} else {
			r.rxSince += uint64(b.Received)
		}
	}
}

// counter follows the SX1302 counter: unknown, or unchanged from the
// previous reading, counts towards a wedge.
func (r *Run) counter(b stats.Block, at time.Time) {
	if b.Family != stats.FamilySX1302 || b.Has&stats.FieldCounter == 0 {
		return
	}
	r.lastCount = b
	moved := b.CounterKnown && (!r.hasPrev || r.prevCount != b.Counter)
	if b.CounterKnown {
		r.prevCount, r.hasPrev = b.Counter, true
	}
	if moved {
		r.stuck = 0
		r.stuckSince = at
		return
	}
	if r.stuck == 0 && r.stuckSince.IsZero() {
		r.stuckSince = r.started
	}
	r.stuck++
}

// SetRelay takes the relay's latest observations.
func (r *Run) SetRelay(e Relay) { r.relay = e }

// Judge applies the rules at now. It records the deadline it returns, so
// that a later call can tell a pause of pktfwd (now far past that
// deadline) from a stall of the forwarder; a verdict is given once.
func (r *Run) Judge(now time.Time) Judgement {
	if !r.due.IsZero() && now.Sub(r.due) > PauseSlack && r.done == nil {
		r.hold = now.Add(r.interval())
	}
	j := r.judge(now)
	if j.Verdict != nil {
		v := *j.Verdict
		r.done = &v
	}
	r.due = j.Next
	return j
}

func (r *Run) interval() time.Duration {
	if r.cfg.StatInterval > 0 {
		return r.cfg.StatInterval
	}
	return time.Second
}

// judge is Judge without its bookkeeping: a pure function of r and now.
func (r *Run) judge(now time.Time) Judgement {
	j := Judgement{Upstream: StateWaiting}
	r.upstream(now, &j) // the upstream is judged after a verdict too
	if r.done != nil {
		j.Verdict = r.done
		return j
	}
	if now.Before(r.hold) {
		j.Paused, j.Next = true, r.hold
		return j
	}
	if v := r.blockRules(now); v != nil {
		j.Verdict = v
		return j
	}
	v, next := r.timeRules(now)
	j.Verdict, j.Next = v, next
	return j
}

// blockRules are decided by the content of the blocks.
func (r *Run) blockRules(now time.Time) *Verdict {
	if r.cfg.Counter && r.stuck >= WedgedBlocks {
		what := "read unknown"
		if r.lastCount.CounterKnown {
			what = fmt.Sprintf("stuck at %d", r.lastCount.Counter)
		}
		return &Verdict{Rule: Wedged, At: now, Since: r.stuckSince,
			Reason: fmt.Sprintf("the SX1302 counter %s in %d blocks in a row: the concentrator is wedged", what, r.stuck)}
	}
	if r.cfg.NoRx > 0 && r.blocks > 0 && now.Sub(r.lastForwarded) >= r.cfg.NoRx {
		return &Verdict{Rule: RadioSilent, At: now, Since: r.lastForwarded,
			Reason: fmt.Sprintf("no RF packet forwarded for %s (WATCHDOG_NO_RX_SECONDS; %d received, 0 forwarded: a CRC error or a wrong frequency plan when more than 0 were received)",
				now.Sub(r.lastForwarded).Round(time.Second), r.rxSince)}
	}
	return nil
}

// timeRules are decided by the absence of output; they return the
// earliest time one of them could be broken.
func (r *Run) timeRules(now time.Time) (*Verdict, time.Time) {
	var next time.Time
	soonest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if r.cfg.NoRx > 0 && r.blocks > 0 {
		soonest(r.lastForwarded.Add(r.cfg.NoRx))
	}
	if r.cfg.Relay && r.cfg.Keepalive > 0 && !r.started.IsZero() {
		from, what := r.started, "since the concentrator started"
		if r.relay.LastPullData.After(from) {
			from, what = r.relay.LastPullData, "since the last one"
		}
		limit := relayKeepalives * r.cfg.Keepalive
		if now.Sub(from) >= limit {
			return &Verdict{Rule: NoPullData, At: now, Since: from,
				Reason: fmt.Sprintf("no PULL_DATA from the forwarder for %s %s (keepalive_interval %s): its downstream thread is stuck",
					now.Sub(from).Round(time.Millisecond), what, r.cfg.Keepalive)}, time.Time{}
		}
		soonest(from.Add(limit))
	}
	if !r.cfg.Terminal {
		return nil, next // output arrives in bursts: its timing proves nothing
	}
	if r.started.IsZero() {
		if now.Sub(r.start) >= r.cfg.StartLimit {
			return &Verdict{Rule: StartTimeout, At: now, Since: r.start,
				Reason: fmt.Sprintf("no %q line %s after the forwarder started: the concentrator did not start (check the module, its reset line and SPI bus)",
					StartedMsg, now.Sub(r.start).Round(time.Millisecond))}, time.Time{}
		}
		soonest(r.start.Add(r.cfg.StartLimit))
		return nil, next
	}
	if r.cfg.StatInterval <= 0 {
		return nil, next
	}
	from, what := r.started, "since the concentrator started"
	if r.lastBlock.After(from) {
		from, what = r.lastBlock, "since the last one"
	}
	limit := time.Duration(stallFactor * float64(r.cfg.StatInterval))
	if now.Sub(from) >= limit {
		return &Verdict{Rule: Stalled, At: now, Since: from,
			Reason: fmt.Sprintf("no statistics block for %s %s (stat_interval %s): the forwarder is alive but its radio thread is stuck",
				now.Sub(from).Round(time.Millisecond), what, r.cfg.StatInterval)}, time.Time{}
	}
	soonest(from.Add(limit))
	return nil, next
}

// upstream judges the server: in relay mode from the relay's view of the
// primary upstream, else from the forwarder's acknowledgements.
func (r *Run) upstream(now time.Time, j *Judgement) {
	if r.cfg.Relay {
		if r.relay.Primary != "" {
			j.Upstream = r.relay.Primary
		}
		if r.relay.Primary == StateLost {
			j.Report = &Verdict{Rule: UpstreamLost, At: now, Since: r.relay.PrimarySince, Reason: r.relay.PrimaryReason}
		}
		return
	}
	pullAlive := r.lastPullAck.After(r.start) && (r.cfg.NoAck <= 0 || now.Sub(r.lastPullAck) < r.cfg.NoAck)
	switch {
	case !r.pushed && !pullAlive:
		j.Upstream = StateWaiting
	case r.cfg.NoAck > 0 && r.unacked > 0 && now.Sub(r.lastPushAck) >= r.cfg.NoAck && !pullAlive:
		j.Upstream = StateLost
		j.Report = &Verdict{Rule: UpstreamLost, At: now, Since: r.lastPushAck,
			Reason: fmt.Sprintf("%d PUSH_DATA sent and none acknowledged for %s, and no PULL_ACK either: the server is unreachable or down",
				r.unacked, now.Sub(r.lastPushAck).Round(time.Second))}
	default:
		j.Upstream = StateOK
	}
	if r.unacked > 0 && r.cfg.NoAck > 0 && now.Sub(r.lastPushAck) >= r.cfg.NoAck && pullAlive {
		j.Notice = fmt.Sprintf("%d PUSH_DATA went unacknowledged for %s while PULL_DATA is acknowledged: the server is alive but answers later than gateway_conf.push_timeout_ms (the forwarder ignores late PUSH_ACKs); a far server, not a lost one",
			r.unacked, now.Sub(r.lastPushAck).Round(time.Second))
	}
	if j.Report == nil && r.pullUnacked >= DeadDownlinkPulls {
		j.Upstream = StateDownlinkLost
		j.Report = &Verdict{Rule: DownlinkLost, At: now, Since: r.lastPullAck,
			Reason: fmt.Sprintf("%d PULL_DATA in a row without a PULL_ACK: the server does not answer on the downlink port (serv_port_down), so no downlink can reach this gateway", r.pullUnacked)}
	}
}

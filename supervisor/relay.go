package supervisor

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/relay"
	"pktfwd/watchdog"
)

// The relay's timings (docs/relay.md). gateway-rs counts a gateway as
// disconnected after 60 s without PULL_DATA, so the keepalive stays well
// under that; names are looked up again every 30 s.
const (
	relayKeepalive = 10 * time.Second
	relayReresolve = 30 * time.Second
	// relayLostDefault is when an upstream that answers nothing is lost
	// while WATCHDOG_NO_ACK_SECONDS is 0 (the watchdog rule off): the
	// report stays useful.
	relayLostDefault = 300 * time.Second
	// relayObserveEvery is how often the watchdog gets the relay's
	// observations besides every state change: often enough for its rule
	// of three forwarder keepalives (keepalive_interval may be 1 s).
	relayObserveEvery = time.Second
)

// relayLink is the supervisor's side of the relay: the relay itself, what
// it was configured with and the state changes it announced.
type relayLink struct {
	r         *relay.Relay
	upstreams []UpstreamAddr // [0] is the primary
	changes   chan stateChange
}

// stateChange is one upstream's move from one state to another.
type stateChange struct {
	upstream string
	from, to relay.State
	why      string
}

// forwarderServer is where the rendered config sends the forwarder: the
// relay on loopback when RELAY is on, else the server as before (server.go).
func (s *Supervisor) forwarderServer() (addr string, up, down int) {
	if s.relay == nil {
		return s.server()
	}
	a := s.relay.r.Addr()
	return a.IP.String(), a.Port, a.Port
}

// relayUpstreams is the primary (SERVER_ADDRESS, or hm-pktfwd's
// multiplexer:1681 where that default applies, decided now) then UPSTREAMS.
func (s *Supervisor) relayUpstreams() []UpstreamAddr {
	host, up, down := s.server()
	ups, _ := ParseUpstreams(s.cfg.Upstreams) // Validate has refused bad entries
	return append([]UpstreamAddr{{Host: host, PortUp: up, PortDown: down}}, ups...)
}

// startRelay opens the relay when RELAY is on and runs it, with the loop
// that reports its state changes, in goroutines that wg tracks and ctx
// stops. It runs for the supervisor's lifetime, whatever the forwarder does.
func (s *Supervisor) startRelay(ctx context.Context, wg *sync.WaitGroup) error {
	if !s.cfg.Relay {
		return nil
	}
	eui, err := strconv.ParseUint(s.eui, 16, 64)
	if err != nil {
		return fmt.Errorf("the relay needs the gateway EUI, got %q: %w", s.eui, err)
	}
	link := &relayLink{upstreams: s.relayUpstreams(), changes: make(chan stateChange, 64)}
	cfg := relay.Config{
		Listen: "127.0.0.1:0", GatewayEUI: eui,
		Keepalive: relayKeepalive, Reresolve: relayReresolve,
		Log: s.log.WithField("source", "relay"),
		OnState: func(upstream string, from, to relay.State, why string) {
			select {
			case link.changes <- stateChange{upstream, from, to, why}:
			default: // the status refresh still shows the state
			}
		},
	}
	cfg.LostAfter = s.relayLostAfter()
	for _, u := range link.upstreams {
		cfg.Upstreams = append(cfg.Upstreams, relay.Upstream{Name: u.Name(), Host: u.Host, PortUp: u.PortUp, PortDown: u.PortDown, UplinkOnly: u.UplinkOnly})
	}
	if link.r, err = relay.Listen(cfg); err != nil {
		return fmt.Errorf("RELAY: cannot listen on loopback for the forwarder (set RELAY=false to send to SERVER_ADDRESS directly): %w", err)
	}
	s.mu.Lock()
	s.relay = link
	s.mu.Unlock()
	s.relayMode = true // the watchdog judges the relay's observations (observeRelay)
	names := make([]string, len(link.upstreams))
	for i, u := range link.upstreams {
		names[i] = u.Name()
	}
	s.log.WithFields(logrus.Fields{"relay": link.r.Addr().String(), "upstreams": names}).
		Infof("relaying the forwarder's GWMP from %s to %v (primary %s)", link.r.Addr(), names, names[0])
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := link.r.Run(ctx); err != nil && ctx.Err() == nil {
			s.relayStopped(fmt.Errorf("the relay stopped, no uplink reaches any network (restart pktfwd, or set RELAY=false): %w", err))
		}
	}()
	go func() {
		defer wg.Done()
		s.followUpstreams(ctx, link)
	}()
	return nil
}

// relayStopped records, logs and reports a relay that ended before ctx
// (from the relay's goroutine: not through problem, which is the loop's).
func (s *Supervisor) relayStopped(err error) {
	s.log.Error(err)
	s.update(func(st *Status) { st.LastError = err.Error() })
	if s.opt.Reporter != nil {
		s.opt.Reporter.Report(err, s.tags(), nil)
	}
}

// followUpstreams logs each upstream going lost, reports it once (until
// it is ok again), writes the status at once, and passes the relay's
// observations to the watchdog on every change and every second, until
// ctx ends. The forwarder is not restarted: a restart cannot mend a
// network. The watchdog judges and reports the primary upstream
// (upstream_lost); with WATCHDOG=false this loop reports it instead.
func (s *Supervisor) followUpstreams(ctx context.Context, link *relayLink) {
	reported := map[string]bool{}
	primary := link.upstreams[0].Name()
	var why string // the primary's latest change
	tick := time.NewTicker(relayObserveEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.observeRelay(relayEvidence(link.r.Snapshot(), why, s.relayLostAfter(), time.Now()))
		case c := <-link.changes:
			if c.upstream == primary {
				why = c.why
			}
			s.observeRelay(relayEvidence(link.r.Snapshot(), why, s.relayLostAfter(), time.Now()))
			log := s.log.WithFields(logrus.Fields{"upstream": c.upstream, "state": string(c.to), "from": string(c.from)})
			switch c.to {
			case relay.StateLost, relay.StateUnresolved:
				log.Warnf("upstream %s is %s (was %s): %s; the other upstreams carry on", c.upstream, c.to, c.from, c.why)
				if !reported[c.upstream] && s.opt.Reporter != nil && (c.upstream != primary || !s.cfg.Watchdog) {
					tags := s.tags()
					tags["upstream"] = c.upstream
					s.opt.Reporter.Report(fmt.Errorf("upstream %s is %s: %s", c.upstream, c.to, c.why), tags, nil)
				}
				reported[c.upstream] = true
			case relay.StateOK:
				if reported[c.upstream] {
					log.Infof("upstream %s is ok again", c.upstream)
				}
				delete(reported, c.upstream)
			} // the relay logs every change itself
			s.update(func(*Status) {})
		}
	}
}

// fillRelay puts the relay's figures into st: relay and upstreams. The
// caller holds s.mu.
func (s *Supervisor) fillRelay(st *Status) {
	if s.relay == nil {
		return
	}
	snap := s.relay.r.Snapshot()
	st.Relay = relayStatus(s.relay.r.Addr().String(), snap.Forwarder)
	st.Upstreams = upstreamStatuses(snap.Upstreams, s.relay.upstreams)
}

// relayLostAfter is how long an upstream may answer nothing before it is
// lost: WATCHDOG_NO_ACK_SECONDS, or relayLostDefault while that is 0.
func (s *Supervisor) relayLostAfter() time.Duration {
	if d := Seconds(s.cfg.WatchdogNoAckSeconds); d > 0 {
		return d
	}
	return relayLostDefault
}

// relayEvidence is what the watchdog takes from the relay (docs/watchdog.md):
// the forwarder's last PULL_DATA and the primary upstream's state. A name
// that has not resolved for lostAfter counts as lost; before that, as
// waiting, at now.
func relayEvidence(snap relay.Snapshot, why string, lostAfter time.Duration, now time.Time) watchdog.Relay {
	e := watchdog.Relay{LastPullData: snap.Forwarder.LastPullData}
	if len(snap.Upstreams) == 0 {
		return e
	}
	p := snap.Upstreams[0]
	e.PrimarySince, e.PrimaryReason = p.StateSince, why
	switch p.State {
	case relay.StateOK:
		e.Primary = watchdog.StateOK
	case relay.StateLost:
		e.Primary = watchdog.StateLost
		e.PrimaryReason = fmt.Sprintf("the primary upstream %s answered nothing for %s: %s", p.Name, lostAfter, why)
	case relay.StateUnresolved:
		e.Primary = watchdog.StateWaiting
		if now.Sub(p.StateSince) >= lostAfter {
			e.Primary = watchdog.StateLost
			e.PrimaryReason = fmt.Sprintf("the primary upstream's name %s has not resolved for %s: %s", p.Name, lostAfter, why)
		}
	default:
		e.Primary = watchdog.StateWaiting
	}
	return e
}

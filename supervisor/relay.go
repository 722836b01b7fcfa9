package supervisor

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/relay"
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
		Keepalive: relayKeepalive, LostAfter: Seconds(s.cfg.WatchdogNoAckSeconds), Reresolve: relayReresolve,
		Log: s.log.WithField("source", "relay"),
		OnState: func(upstream string, from, to relay.State, why string) {
			select {
			case link.changes <- stateChange{upstream, from, to, why}:
			default: // the status refresh still shows the state
			}
		},
	}
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = relayLostDefault
	}
	for _, u := range link.upstreams {
		cfg.Upstreams = append(cfg.Upstreams, relay.Upstream{Name: u.Name(), Host: u.Host, PortUp: u.PortUp, PortDown: u.PortDown, UplinkOnly: u.UplinkOnly})
	}
	if link.r, err = relay.Listen(cfg); err != nil {
		return fmt.Errorf("RELAY: cannot listen on loopback for the forwarder (set RELAY=false to send to SERVER_ADDRESS directly): %w", err)
	}
	s.mu.Lock()
	s.relay = link
	s.mu.Unlock()
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
			s.problem("relay", fmt.Errorf("the relay stopped, no uplink reaches any network (restart pktfwd, or set RELAY=false): %w", err), nil)
		}
	}()
	go func() {
		defer wg.Done()
		s.followUpstreams(ctx, link)
	}()
	return nil
}

// followUpstreams logs each upstream state change, reports an upstream
// going lost once (until it is ok again), and writes the status at once,
// until ctx ends. The forwarder is not restarted: a restart cannot mend a
// network.
func (s *Supervisor) followUpstreams(ctx context.Context, link *relayLink) {
	reported := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-link.changes:
			log := s.log.WithFields(logrus.Fields{"upstream": c.upstream, "state": string(c.to), "from": string(c.from)})
			switch c.to {
			case relay.StateLost, relay.StateUnresolved:
				log.Warnf("upstream %s is %s (was %s): %s; the other upstreams carry on", c.upstream, c.to, c.from, c.why)
				if !reported[c.upstream] && s.opt.Reporter != nil {
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

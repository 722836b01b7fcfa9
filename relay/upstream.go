package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/gwmp"
)

// upstream is one server: its sockets, its counters and its state. The
// manager goroutine (run) owns the sockets and the timers; the readers and
// the forwarder's reader only load the sockets and bump counters.
type upstream struct {
	r   *Relay
	idx int
	cfg Upstream
	log logrus.FieldLogger

	up   atomic.Pointer[net.UDPConn] // nil while unresolved
	down atomic.Pointer[net.UDPConn]
	addr atomic.Pointer[netip.Addr] // as resolved

	// pending holds the PUSH_DATA awaiting their PUSH_ACK, indexed by the
	// token's low byte: token<<48 | the send time in µs since the relay's
	// start. A slot overwritten before its ack costs one RTT sample.
	pending [256]atomic.Uint64

	pushSent, pushAcked, pushUnmatched atomic.Uint64
	pullSent, pullAcked                atomic.Uint64
	downlinks, txAcks                  atomic.Uint64
	dropUplinkOnly, dropNoForwarder    atomic.Uint64
	unexpected                         atomic.Uint64
	rtt, rttLast                       atomic.Int64 // ns; rtt is the EWMA

	answered   atomic.Int64 // monotonic offsets; 0 = never
	unanswered atomic.Int64

	// Manager-only.
	opened         time.Duration
	resolved       time.Duration
	resolveFailing bool // the last resolution failed while sockets were open
	pullToken      uint16

	stateMu sync.Mutex // serialises state changes (and OnState calls)
	state   atomic.Pointer[stateRecord]

	errMu       sync.Mutex
	txAckErrors map[string]uint64 // by the error the TX_ACK reports
}

type stateRecord struct {
	state     State
	since     time.Duration
	lostSince time.Duration // 0 unless lost
}

func newUpstream(r *Relay, idx int, cfg Upstream) *upstream {
	u := &upstream{
		r: r, idx: idx, cfg: cfg,
		log:         r.log.WithField("upstream", cfg.Name),
		pullToken:   uint16(rand.Uint32()),
		txAckErrors: map[string]uint64{},
	}
	u.state.Store(&stateRecord{state: StateWaiting, since: r.now()})
	return u
}

// run resolves, opens the sockets, sends the keepalives and applies the
// rules until ctx is done; then it closes the sockets. Its readers join wg.
func (u *upstream) run(ctx context.Context, wg *sync.WaitGroup) {
	defer u.closeSockets()
	u.resolveAndOpen(ctx, wg, false)
	keepalive := time.NewTicker(u.r.cfg.Keepalive)
	defer keepalive.Stop()
	check := time.NewTicker(min(max(u.r.policy.silence/5, 10*time.Millisecond), time.Second))
	defer check.Stop()
	euiKnown := u.r.euiKnown
	for {
		select {
		case <-ctx.Done():
			return
		case <-euiKnown:
			euiKnown = nil
			u.sendPull()
		case <-keepalive.C:
			u.sendPull()
		case <-check.C:
			u.check(ctx, wg)
		}
	}
}

// check applies the rules (judge) and acts on the verdict.
func (u *upstream) check(ctx context.Context, wg *sync.WaitGroup) {
	now := u.r.now()
	v := judge(u.evidence(), now, u.r.policy)
	if v.lost {
		u.setState(StateLost, v.why)
	}
	if v.resolve {
		if v.why != "periodic" {
			u.log.WithField("why", v.why).Debug("relay: resolving the upstream's name again")
		}
		u.resolveAndOpen(ctx, wg, v.lost)
	}
}

func (u *upstream) evidence() evidence {
	return evidence{
		state:      u.state.Load().state,
		opened:     u.opened,
		answered:   time.Duration(u.answered.Load()),
		unanswered: time.Duration(u.unanswered.Load()),
		resolved:   u.resolved,
	}
}

// resolveAndOpen resolves the name and (re)opens the sockets when the
// address changed, when there are none, or when reopen is set.
func (u *upstream) resolveAndOpen(ctx context.Context, wg *sync.WaitGroup, reopen bool) {
	addr, err := u.resolve(ctx)
	u.resolved = u.r.now()
	switch {
	case err != nil && ctx.Err() != nil:
		return
	case err != nil && u.up.Load() != nil:
		// A DNS failure does not cut a working path: the last address
		// stays in use, and the answers (or their absence) judge it.
		if !u.resolveFailing {
			u.log.WithError(err).Warn("relay: the upstream's name does not resolve now; keeping its last address " + u.addr.Load().String())
		}
		u.resolveFailing = true
		return
	case err != nil:
		u.setState(StateUnresolved, err.Error())
		return
	}
	u.resolveFailing = false
	cur := u.addr.Load()
	if !reopen && cur != nil && *cur == addr && u.up.Load() != nil {
		return
	}
	if cur != nil && *cur != addr {
		u.log.WithFields(logrus.Fields{"from": cur.String(), "to": addr.String()}).Info("relay: upstream address changed")
	}
	if err := u.open(addr, wg); err != nil {
		u.closeSockets()
		u.setState(StateUnresolved, err.Error())
	}
}

// resolve returns the upstream's address: the current one while the name
// still resolves to it (so a name with several addresses does not flap),
// else the first the resolver gives, of either family.
func (u *upstream) resolve(ctx context.Context) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(u.cfg.Host); err == nil {
		return ip.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := u.r.resolver.LookupNetIP(ctx, "ip", u.cfg.Host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("upstream %s: cannot resolve %q: %w (check the name, /etc/hosts and the DNS servers in /etc/resolv.conf)", u.cfg.Name, u.cfg.Host, err)
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	if cur := u.addr.Load(); cur != nil && slices.Contains(ips, *cur) {
		return *cur, nil
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("upstream %s: %q resolves to no address", u.cfg.Name, u.cfg.Host)
	}
	return ips[0], nil
}

// open replaces the sockets with a new pair connected to addr and starts
// their readers. A connected socket hears only that address.
func (u *upstream) open(addr netip.Addr, wg *sync.WaitGroup) error {
	u.closeSockets()
	up, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(u.cfg.PortUp))))
	if err != nil {
		return fmt.Errorf("upstream %s: open a socket to %s port %d: %w", u.cfg.Name, addr, u.cfg.PortUp, err)
	}
	down, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(u.cfg.PortDown))))
	if err != nil {
		up.Close()
		return fmt.Errorf("upstream %s: open a socket to %s port %d: %w", u.cfg.Name, addr, u.cfg.PortDown, err)
	}
	setBuffers(up, upstreamBuffer)
	setBuffers(down, upstreamBuffer)
	if u.state.Load().state == StateUnresolved {
		// Before the readers start: an answer may follow at once.
		u.setState(StateWaiting, "resolved to "+addr.String())
	}
	u.addr.Store(&addr)
	u.opened = u.r.now()
	u.unanswered.Store(0)
	u.up.Store(up)
	u.down.Store(down)
	wg.Add(2)
	go func() {
		defer wg.Done()
		u.read(up, u.fromUp)
	}()
	go func() {
		defer wg.Done()
		u.read(down, u.fromDown)
	}()
	u.sendPull() // open the downlink path at once
	return nil
}

func (u *upstream) closeSockets() {
	if c := u.up.Swap(nil); c != nil {
		c.Close()
	}
	if c := u.down.Swap(nil); c != nil {
		c.Close()
	}
}

// read hands each datagram of c to handle until c is closed. Errors from
// ICMP (nobody listening upstream) are expected and skipped.
func (u *upstream) read(c *net.UDPConn, handle func([]byte)) {
	buf := make([]byte, readBufferLen)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		handle(buf[:n])
	}
}

// send writes b to a connected socket. After an ICMP error (port
// unreachable: the upstream was down a moment) Linux fails the next send
// with ECONNREFUSED without sending it; the retry sends it.
func send(c *net.UDPConn, b []byte) error {
	_, err := c.Write(b)
	if errors.Is(err, syscall.ECONNREFUSED) {
		_, err = c.Write(b)
	}
	return err
}

// sendPush relays a PUSH_DATA as the forwarder sent it.
func (u *upstream) sendPush(b []byte, token uint16, now time.Duration) {
	c := u.up.Load()
	if c == nil {
		return
	}
	u.pending[token&0xff].Store(uint64(token)<<48 | uint64(now/time.Microsecond)&(1<<48-1))
	if send(c, b) != nil {
		return
	}
	u.pushSent.Add(1)
	u.sent(now)
}

// sendPull sends pktfwd's own PULL_DATA, once the gateway EUI is known.
func (u *upstream) sendPull() {
	eui := u.r.eui.Load()
	c := u.down.Load()
	if eui == 0 || c == nil {
		return
	}
	u.pullToken++
	pkt := gwmp.Packet{Version: 2, Token: u.pullToken, Type: gwmp.PullData, EUI: eui}
	var buf [gwmp.EUIHeaderLen]byte
	if send(c, pkt.Append(buf[:0])) != nil {
		return
	}
	u.pullSent.Add(1)
	u.sent(u.r.now())
}

// sendTxAck returns the forwarder's TX_ACK b to this upstream under its
// own token, and counts the error it reports.
func (u *upstream) sendTxAck(b []byte, upToken uint16, body []byte) {
	u.txAcks.Add(1)
	kind, err := gwmp.TxAckError(body)
	if err != nil {
		kind = "unreadable"
	}
	if kind != "" {
		u.errMu.Lock()
		u.txAckErrors[kind]++
		u.errMu.Unlock()
	}
	if c := u.down.Load(); c != nil {
		gwmp.SetToken(b, upToken)
		_ = send(c, b)
	}
}

// fromUp handles a datagram on the up socket: a PUSH_ACK.
func (u *upstream) fromUp(b []byte) {
	p, err := gwmp.Parse(b)
	if err != nil || p.Type != gwmp.PushAck {
		u.unexpected.Add(1)
		return
	}
	now := u.r.now()
	slot := &u.pending[p.Token&0xff]
	v := slot.Load()
	if v != 0 && uint16(v>>48) == p.Token && slot.CompareAndSwap(v, 0) {
		rtt := int64(now - time.Duration(v&(1<<48-1))*time.Microsecond)
		u.rttLast.Store(rtt)
		if old := u.rtt.Load(); old == 0 {
			u.rtt.Store(rtt)
		} else {
			u.rtt.Store(old + (rtt-old)/8) // EWMA, α = 1/8 as TCP's SRTT
		}
		u.pushAcked.Add(1)
	} else {
		u.pushUnmatched.Add(1)
	}
	u.answer(now)
}

// fromDown handles a datagram on the down socket: a PULL_ACK or a downlink.
func (u *upstream) fromDown(b []byte) {
	p, err := gwmp.Parse(b)
	if err != nil {
		u.unexpected.Add(1)
		return
	}
	switch p.Type {
	case gwmp.PullAck:
		u.pullAcked.Add(1)
		u.answer(u.r.now())
	case gwmp.PullResp:
		switch {
		case u.cfg.UplinkOnly:
			u.dropUplinkOnly.Add(1)
		case !u.r.toForwarder(b, u.idx, p.Token):
			u.dropNoForwarder.Add(1)
		default:
			u.downlinks.Add(1)
		}
	default:
		u.unexpected.Add(1)
	}
}

// sent notes a datagram that expects an answer.
func (u *upstream) sent(now time.Duration) {
	if u.unanswered.Load() == 0 {
		u.unanswered.CompareAndSwap(0, int64(now))
	}
}

// answer notes a PUSH_ACK or PULL_ACK: the upstream is ok.
func (u *upstream) answer(now time.Duration) {
	u.answered.Store(int64(now))
	u.unanswered.Store(0)
	if u.state.Load().state != StateOK {
		u.setState(StateOK, "answered")
	}
}

// setState records a change of state, logs it and calls OnState, once per
// change.
func (u *upstream) setState(to State, why string) {
	u.stateMu.Lock()
	defer u.stateMu.Unlock()
	cur := u.state.Load()
	if cur.state == to {
		return
	}
	next := &stateRecord{state: to, since: u.r.now()}
	if to == StateLost {
		next.lostSince = next.since
	}
	u.state.Store(next)
	entry := u.log.WithFields(logrus.Fields{"from": string(cur.state), "to": string(to), "why": why})
	if to == StateOK || to == StateWaiting {
		entry.Info("relay: upstream state changed")
	} else {
		entry.Warn("relay: upstream state changed")
	}
	if f := u.r.cfg.OnState; f != nil {
		f(u.cfg.Name, cur.state, to, why)
	}
}

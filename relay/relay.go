// Package relay makes pktfwd the packet forwarder's only GWMP server: it
// acknowledges the forwarder at once and relays its traffic to several
// upstream servers, each with its own sockets, and watches every upstream's
// answers first-hand. docs/gwmp.md describes the behaviour.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/gwmp"
)

// Upstream is one GWMP server the relay forwards to.
type Upstream struct {
	Name       string // as configured, "HOST:PORT" (IPv6 in brackets); derived from Host and PortUp when empty
	Host       string // a name or an IP literal (brackets around IPv6 are removed)
	PortUp     int    // PUSH_DATA goes here
	PortDown   int    // PULL_DATA and TX_ACK go here; PULL_RESP comes from here
	UplinkOnly bool   // receives uplinks; its PULL_RESPs are dropped and counted
}

// Config configures a Relay. Zero durations take the defaults named.
type Config struct {
	// Listen is the loopback UDP address the forwarder sends both its
	// sockets to; "127.0.0.1:0" picks a port (see Relay.Addr).
	Listen string
	// GatewayEUI is the forwarder's gateway_ID; datagrams with another EUI
	// are dropped and counted. 0 accepts the first EUI seen.
	GatewayEUI uint64
	// Upstreams are the servers to relay to; [0] is the primary.
	Upstreams []Upstream
	// Keepalive is the period of pktfwd's own PULL_DATA to each upstream
	// (default 10 s).
	Keepalive time.Duration
	// LostAfter is how long an upstream may answer nothing before it is
	// lost (default 60 s; pktfwd passes WATCHDOG_NO_ACK_SECONDS).
	LostAfter time.Duration
	// Reresolve is the period of name resolution (default 30 s); a name is
	// also resolved again at once after an ack silence.
	Reresolve time.Duration
	// Resolver resolves upstream names; nil means Go's own resolver, which
	// reads /etc/hosts and asks the DNS servers of /etc/resolv.conf.
	Resolver *net.Resolver
	// Log receives the state changes and errors; nil discards them.
	Log logrus.FieldLogger
	// OnState, if set, is called on each state change of an upstream, from
	// the relay's goroutines; it must not block.
	OnState func(upstream string, from, to State, why string)
}

// Defaults of Config.
const (
	DefaultKeepalive = 10 * time.Second
	DefaultLostAfter = 60 * time.Second
	DefaultReresolve = 30 * time.Second
)

// ackSilence is how long a datagram to an upstream may go unanswered
// before the name is resolved again (a quarter of LostAfter when that is
// shorter). Answers take milliseconds; a far server well under a second.
const ackSilence = 2 * time.Second

// Socket buffer sizes: the forwarder side must absorb bursts while the
// reader is descheduled (5,000 uplinks/s for 20 s is the goal); the upstream
// sockets carry acks and downlinks.
const (
	forwarderBuffer = 4 << 20
	upstreamBuffer  = 1 << 20
	readBufferLen   = 65535 // larger than any UDP payload
)

// Relay is a running GWMP relay; make one with Listen.
type Relay struct {
	cfg      Config
	log      logrus.FieldLogger
	conn     *net.UDPConn // the forwarder's side
	start    time.Time
	resolver *net.Resolver
	policy   policy
	ups      []*upstream
	tokens   tokenTable

	eui      atomic.Uint64 // configured or first seen; 0 while unknown
	euiKnown chan struct{} // closed once eui is set
	euiOnce  sync.Once

	fwdDown  atomic.Pointer[netip.AddrPort] // the forwarder's down socket, from its last PULL_DATA
	pushData atomic.Uint64
	pullData atomic.Uint64
	txAck    atomic.Uint64
	lastPull atomic.Int64 // monotonic offset of the last PULL_DATA; 0 = never
	dropped  [numDrops]atomic.Uint64
	running  atomic.Bool
}

// Listen validates cfg and binds the forwarder-side socket; Run does the rest.
func Listen(cfg Config) (*Relay, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	listen, _ := netip.ParseAddrPort(cfg.Listen) // checked by withDefaults
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(listen))
	if err != nil {
		return nil, fmt.Errorf("relay: listen on %s for the forwarder: %w (is another server on that port? pick another, or 127.0.0.1:0)", cfg.Listen, err)
	}
	setBuffers(conn, forwarderBuffer)
	r := &Relay{
		cfg:      cfg,
		log:      cfg.Log,
		conn:     conn,
		start:    time.Now(),
		resolver: cfg.Resolver,
		euiKnown: make(chan struct{}),
		policy: policy{
			lostAfter: cfg.LostAfter,
			silence:   min(ackSilence, cfg.LostAfter/4),
			reresolve: cfg.Reresolve,
		},
	}
	if r.resolver == nil {
		r.resolver = &net.Resolver{PreferGo: true}
	}
	if cfg.GatewayEUI != 0 {
		r.setEUI(cfg.GatewayEUI)
	}
	for i, u := range cfg.Upstreams {
		r.ups = append(r.ups, newUpstream(r, i, u))
	}
	return r, nil
}

// withDefaults fills the zero durations and checks everything else.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	listen, err := netip.ParseAddrPort(cfg.Listen)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("relay: listen address %q: %w (want a loopback IP:PORT such as 127.0.0.1:1680)", cfg.Listen, err))
	case !listen.Addr().IsLoopback():
		errs = append(errs, fmt.Errorf("relay: listen address %s is not a loopback address: the forwarder runs on this host, so listen on 127.0.0.1", cfg.Listen))
	}
	if len(cfg.Upstreams) == 0 {
		errs = append(errs, errors.New("relay: no upstream server configured"))
	}
	ups := make([]Upstream, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		u.Host = strings.TrimSuffix(strings.TrimPrefix(u.Host, "["), "]") // "[::1]" as in a HOST:PORT
		if u.Name == "" {
			u.Name = net.JoinHostPort(u.Host, fmt.Sprint(u.PortUp))
		}
		if u.Host == "" {
			errs = append(errs, fmt.Errorf("relay: upstream %d (%q) has no host", i, u.Name))
		}
		if u.PortUp < 1 || u.PortUp > 65535 || u.PortDown < 1 || u.PortDown > 65535 {
			errs = append(errs, fmt.Errorf("relay: upstream %s: ports %d/%d, want 1–65535", u.Name, u.PortUp, u.PortDown))
		}
		ups[i] = u
	}
	cfg.Upstreams = ups
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"Keepalive", &cfg.Keepalive, DefaultKeepalive}, {"LostAfter", &cfg.LostAfter, DefaultLostAfter}, {"Reresolve", &cfg.Reresolve, DefaultReresolve}} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			errs = append(errs, fmt.Errorf("relay: %s is %v, want a positive duration", d.name, *d.v))
		}
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = l
	}
	return cfg, errors.Join(errs...)
}

// Addr returns the address the forwarder must send to (both ports).
func (r *Relay) Addr() *net.UDPAddr {
	return r.conn.LocalAddr().(*net.UDPAddr)
}

// Close closes the forwarder-side socket of a Relay whose Run was never
// called; Run closes everything itself.
func (r *Relay) Close() error {
	if r.running.Load() {
		return nil
	}
	return r.conn.Close()
}

// Run relays until ctx is done, then closes every socket it opened and
// returns nil once every goroutine has stopped. It returns an error only
// when the forwarder-side socket fails. Run may be called once.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("relay: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, u := range r.ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.run(ctx, &wg)
		}()
	}
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		readErr = r.readForwarder()
		cancel()
	}()
	<-ctx.Done()
	r.conn.Close()
	wg.Wait()
	return readErr
}

// now is the monotonic time since the relay started, never 0 (0 means
// "never" in the counters).
func (r *Relay) now() time.Duration {
	return max(time.Since(r.start), 1)
}

func (r *Relay) setEUI(eui uint64) {
	r.eui.Store(eui)
	r.euiOnce.Do(func() { close(r.euiKnown) })
}

// acceptEUI reports whether a datagram from eui is the gateway's; the
// first EUI seen is the gateway's when none was configured.
func (r *Relay) acceptEUI(eui uint64) bool {
	cur := r.eui.Load()
	if cur == 0 && eui != 0 && r.eui.CompareAndSwap(0, eui) {
		r.euiOnce.Do(func() { close(r.euiKnown) })
		r.log.WithField("eui", gwmp.FormatEUI(eui)).Info("relay: gateway EUI taken from the forwarder's first datagram")
		return true
	}
	return eui == cur
}

// readForwarder reads the forwarder's datagrams until the socket closes.
func (r *Relay) readForwarder() error {
	buf := make([]byte, readBufferLen)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("relay: read from the forwarder on %s: %w", r.conn.LocalAddr(), err)
		}
		r.fromForwarder(buf[:n], from)
	}
}

// fromForwarder handles one datagram of the forwarder: acks at once, then
// relays. b is reused for the next read once it returns.
func (r *Relay) fromForwarder(b []byte, from netip.AddrPort) {
	p, err := gwmp.Parse(b)
	if err != nil {
		r.drop(dropReason(err))
		return
	}
	if !p.Type.HasEUI() {
		r.drop(dropType) // a server's packet type: not the forwarder's to send
		return
	}
	if !r.acceptEUI(p.EUI) {
		r.drop(dropEUI)
		return
	}
	switch p.Type {
	case gwmp.PushData:
		r.pushData.Add(1) // counted before the ack, so a snapshot never lags it
		ack := gwmp.Ack(p.Version, p.Token, gwmp.PushAck)
		_, _ = r.conn.WriteToUDPAddrPort(ack[:], from)
		now := r.now()
		for _, u := range r.ups {
			u.sendPush(b, p.Token, now)
		}
	case gwmp.PullData:
		r.pullData.Add(1)
		r.lastPull.Store(int64(r.now()))
		if cur := r.fwdDown.Load(); cur == nil || *cur != from {
			addr := from
			r.fwdDown.Store(&addr)
		}
		ack := gwmp.Ack(p.Version, p.Token, gwmp.PullAck)
		_, _ = r.conn.WriteToUDPAddrPort(ack[:], from)
	case gwmp.TxAck:
		r.txAck.Add(1)
		d, ok := r.tokens.take(p.Token, r.now())
		if !ok {
			r.drop(dropTxAck)
			return
		}
		r.ups[d.upstream].sendTxAck(b, d.upToken, p.Payload)
	}
}

// toForwarder sends a downlink b (a PULL_RESP from upstream idx, whose own
// token is upToken) to the forwarder's down socket under a token of the
// relay's. It reports false when no PULL_DATA has shown that socket yet.
func (r *Relay) toForwarder(b []byte, idx int, upToken uint16) bool {
	dst := r.fwdDown.Load()
	if dst == nil {
		return false
	}
	gwmp.SetToken(b, r.tokens.add(idx, upToken, r.now()))
	_, err := r.conn.WriteToUDPAddrPort(b, *dst)
	return err == nil
}

// Reasons a datagram from the forwarder side is dropped (the keys of
// ForwarderStats.Dropped).
const (
	dropShort   = iota // shorter than its header
	dropVersion        // not GWMP version 1 or 2
	dropType           // unknown type, or one only a server sends
	dropEUI            // another gateway's EUI
	dropTxAck          // TX_ACK for no downlink in flight
	numDrops
)

var dropNames = [numDrops]string{"too_short", "bad_version", "bad_type", "wrong_eui", "unknown_tx_ack"}

func dropReason(err error) int {
	switch {
	case errors.Is(err, gwmp.ErrTooShort):
		return dropShort
	case errors.Is(err, gwmp.ErrVersion):
		return dropVersion
	default:
		return dropType
	}
}

func (r *Relay) drop(reason int) {
	r.dropped[reason].Add(1)
}

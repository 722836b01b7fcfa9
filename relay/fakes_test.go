package relay_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pktfwd/gwmp"
	"pktfwd/relay"
)

const testEUI = 0xaa555a0000000001

// datagram is one datagram a fake received, and on which socket.
type datagram struct {
	sock string // "up" or "down"
	from netip.AddrPort
	b    []byte
	p    gwmp.Packet
}

// fakeServer is a GWMP server as the tests need one: it records what it
// gets and acks PUSH_DATA and PULL_DATA, unless silent.
type fakeServer struct {
	t        *testing.T
	up, down *net.UDPConn
	got      chan datagram
	silent   atomic.Bool
	pullFrom atomic.Pointer[netip.AddrPort] // the relay's down socket, from its PULL_DATA
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	return newFakeServerOn(t, listenLoopback(t), listenLoopback(t))
}

// newFakeServerOn serves on the sockets given.
func newFakeServerOn(t *testing.T, up, down *net.UDPConn) *fakeServer {
	t.Helper()
	s := &fakeServer{t: t, got: make(chan datagram, 4096), up: up, down: down}
	var wg sync.WaitGroup
	wg.Add(2)
	go s.serve(&wg, "up", s.up)
	go s.serve(&wg, "down", s.down)
	t.Cleanup(func() {
		s.up.Close()
		s.down.Close()
		wg.Wait()
	})
	return s
}

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func port(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// upstream returns the relay's configuration of this server.
func (s *fakeServer) upstream() relay.Upstream {
	return relay.Upstream{Host: "127.0.0.1", PortUp: port(s.up), PortDown: port(s.down)}
}

func (s *fakeServer) serve(wg *sync.WaitGroup, name string, c *net.UDPConn) {
	defer wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		d := datagram{sock: name, from: from, b: append([]byte(nil), buf[:n]...)}
		d.p, _ = gwmp.Parse(d.b)
		if d.p.Type == gwmp.PullData {
			s.pullFrom.Store(&from)
		}
		if !s.silent.Load() {
			switch d.p.Type {
			case gwmp.PushData:
				ack := gwmp.Ack(d.p.Version, d.p.Token, gwmp.PushAck)
				c.WriteToUDPAddrPort(ack[:], from)
			case gwmp.PullData:
				ack := gwmp.Ack(d.p.Version, d.p.Token, gwmp.PullAck)
				c.WriteToUDPAddrPort(ack[:], from)
			}
		}
		s.got <- d
	}
}

// pullResp sends a downlink to the relay, as a server does: to the address
// of the last PULL_DATA, from the down socket.
func (s *fakeServer) pullResp(token uint16, body string) {
	s.t.Helper()
	to := s.pullFrom.Load()
	if to == nil {
		s.t.Fatal("no PULL_DATA from the relay yet")
	}
	b := gwmp.Packet{Version: 2, Token: token, Type: gwmp.PullResp, Payload: []byte(body)}.Append(nil)
	if _, err := s.down.WriteToUDPAddrPort(b, *to); err != nil {
		s.t.Fatal(err)
	}
}

// await returns the first datagram for which match is true, within d.
func await(t *testing.T, ch <-chan datagram, d time.Duration, what string, match func(datagram) bool) datagram {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case g := <-ch:
			if match(g) {
				return g
			}
		case <-timeout:
			t.Fatalf("no %s within %v", what, d)
		}
	}
}

// awaitOpen waits for the relay's first PULL_DATA at each server: its
// sockets to them are open.
func awaitOpen(t *testing.T, servers ...*fakeServer) {
	t.Helper()
	for _, s := range servers {
		await(t, s.got, 5*time.Second, "the relay's first PULL_DATA", isType(gwmp.PullData))
	}
}

func isType(typ gwmp.Type) func(datagram) bool {
	return func(d datagram) bool { return d.p.Type == typ }
}

// fakeForwarder plays lora_pkt_fwd: two sockets connected to the relay.
type fakeForwarder struct {
	t        *testing.T
	up, down *net.UDPConn
	got      chan datagram
}

func newFakeForwarder(t *testing.T, relayAddr *net.UDPAddr) *fakeForwarder {
	t.Helper()
	f := &fakeForwarder{t: t, got: make(chan datagram, 4096)}
	var err error
	if f.up, err = net.DialUDP("udp", nil, relayAddr); err != nil {
		t.Fatal(err)
	}
	if f.down, err = net.DialUDP("udp", nil, relayAddr); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	for _, s := range []struct {
		name string
		c    *net.UDPConn
	}{{"up", f.up}, {"down", f.down}} {
		go func() {
			defer wg.Done()
			buf := make([]byte, 65535)
			for {
				n, err := s.c.Read(buf)
				if errors.Is(err, net.ErrClosed) {
					return
				}
				if err != nil {
					continue
				}
				d := datagram{sock: s.name, b: append([]byte(nil), buf[:n]...)}
				d.p, _ = gwmp.Parse(d.b)
				f.got <- d
			}
		}()
	}
	t.Cleanup(func() {
		f.up.Close()
		f.down.Close()
		wg.Wait()
	})
	return f
}

func (f *fakeForwarder) send(c *net.UDPConn, p gwmp.Packet) []byte {
	f.t.Helper()
	b := p.Append(nil)
	if _, err := c.Write(b); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fakeForwarder) pushData(token uint16, body string) []byte {
	return f.send(f.up, gwmp.Packet{Version: 2, Token: token, Type: gwmp.PushData, EUI: testEUI, Payload: []byte(body)})
}

func (f *fakeForwarder) pullData(token uint16) []byte {
	return f.send(f.down, gwmp.Packet{Version: 2, Token: token, Type: gwmp.PullData, EUI: testEUI})
}

// startRelay runs a relay until the test ends and checks that Run returns.
func startRelay(t *testing.T, cfg relay.Config) *relay.Relay {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	r, err := relay.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5 s of its context's end")
		}
	})
	return r
}

// eventually polls cond (a snapshot check) until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stateEvents collects OnState calls.
type stateEvents struct {
	ch   chan string // "name from→to"
	seen []string    // received by await, not yet matched
}

func newStateEvents() *stateEvents { return &stateEvents{ch: make(chan string, 64)} }

func (e *stateEvents) onState(name string, from, to relay.State, why string) {
	e.ch <- name + " " + string(from) + "→" + string(to)
}

// await waits for the change want, in any order with the others.
func (e *stateEvents) await(t *testing.T, d time.Duration, want string) {
	t.Helper()
	if i := slices.Index(e.seen, want); i >= 0 {
		e.seen = slices.Delete(e.seen, i, i+1)
		return
	}
	timeout := time.After(d)
	for {
		select {
		case got := <-e.ch:
			if got == want {
				return
			}
			e.seen = append(e.seen, got)
		case <-timeout:
			t.Fatalf("no state change %q within %v (others: %q)", want, d, e.seen)
		}
	}
}

// rest returns the changes not awaited so far.
func (e *stateEvents) rest() []string {
	for len(e.ch) > 0 {
		e.seen = append(e.seen, <-e.ch)
	}
	rest := e.seen
	e.seen = nil
	return rest
}

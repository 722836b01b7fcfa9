package relay_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"pktfwd/gwmp"
	"pktfwd/relay"
)

// ackServer acks PUSH_DATA and PULL_DATA and allocates nothing per datagram.
func ackServer(b *testing.B, wg *sync.WaitGroup) (*net.UDPConn, *net.UDPConn) {
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 65535)
			for {
				n, from, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				if n >= 4 && (buf[3] == byte(gwmp.PushData) || buf[3] == byte(gwmp.PullData)) {
					buf[3]++ // PUSH_DATA 0 → PUSH_ACK 1; PULL_DATA 2 → 3, made PULL_ACK 4 below
					if buf[3] == byte(gwmp.PullResp) {
						buf[3] = byte(gwmp.PullAck)
					}
					c.WriteToUDPAddrPort(buf[:4], from)
				}
			}
		}()
	}
	return conns[0], conns[1]
}

// One PUSH_DATA through the relay to two upstreams, waiting for the local
// PUSH_ACK each time: the relay's cost per uplink, allocations included
// (the fakes allocate nothing per datagram).
func BenchmarkRelay_Uplink(b *testing.B) {
	var wg sync.WaitGroup
	var ups []relay.Upstream
	var conns []*net.UDPConn
	for range 2 {
		up, down := ackServer(b, &wg)
		conns = append(conns, up, down)
		ups = append(ups, relay.Upstream{Host: "127.0.0.1", PortUp: port(up), PortDown: port(down)})
	}
	r, err := relay.Listen(relay.Config{Listen: "127.0.0.1:0", GatewayEUI: testEUI, Upstreams: ups, LostAfter: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	fwd, err := net.DialUDP("udp", nil, r.Addr())
	if err != nil {
		b.Fatal(err)
	}
	for r.Snapshot().Upstreams[1].PullAcked == 0 {
		time.Sleep(time.Millisecond) // until the upstream sockets are open
	}
	pkt := gwmp.Packet{Version: 2, Type: gwmp.PushData, EUI: testEUI, Payload: []byte(rxpkBody)}.Append(nil)
	ack := make([]byte, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		gwmp.SetToken(pkt, uint16(i))
		if _, err := fwd.Write(pkt); err != nil {
			b.Fatal(err)
		}
		if _, err := fwd.Read(ack); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cancel()
	<-done
	fwd.Close()
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	s := r.Snapshot().Upstreams
	b.ReportMetric(float64(s[0].PushAcked)/float64(b.N), "acked/op")
}

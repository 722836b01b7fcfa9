package main

import (
	"context"
	"fmt"
	"net"

	"pktfwd/gwmp"
)

// demoNetwork is the demo's network server: a GWMP server on loopback that
// acknowledges every PUSH_DATA and PULL_DATA, as gateway-rs does, so the
// demo's relay shows its upstream ok. It answers until ctx is done and
// returns its port.
func demoNetwork(ctx context.Context) (int, error) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("demo network server on 127.0.0.1: %w", err)
	}
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	go func() {
		buf := make([]byte, gwmp.MaxDatagram)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return // closed with ctx
			}
			p, err := gwmp.Parse(buf[:n])
			if err != nil || (p.Type != gwmp.PushData && p.Type != gwmp.PullData) {
				continue
			}
			ack := gwmp.Ack(p.Version, p.Token, gwmp.PushAck)
			if p.Type == gwmp.PullData {
				ack = gwmp.Ack(p.Version, p.Token, gwmp.PullAck)
			}
			conn.WriteTo(ack[:], from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).Port, nil
}

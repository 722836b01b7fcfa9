package fakefwd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// The Semtech UDP protocol (GWMP) as the forwarder speaks it, version 2:
// a 4-byte header (version, 2-byte token, identifier), then for datagrams
// from the gateway its 8-byte EUI, big-endian, then JSON for PUSH_DATA,
// and optionally for TX_ACK. This file is the simulator's own, small
// encoder: it must not share code with the GWMP code it helps to test.
const (
	protocolVersion = 2

	pushData = 0
	pushAck  = 1
	pullData = 2
	pullResp = 3
	pullAck  = 4
	txAck    = 5
)

// header is the 12-byte header of a datagram from the gateway.
func header(id byte, token uint16, eui uint64) []byte {
	b := make([]byte, 12, 12+512)
	b[0], b[3] = protocolVersion, id
	b[1], b[2] = byte(token>>8), byte(token) // bytes as the forwarder's token_h, token_l
	binary.BigEndian.PutUint64(b[4:], eui)
	return b
}

// isAck tells whether b is an acknowledgement of kind id for token.
// It also reports whether b is a valid version-2 datagram of that kind.
func isAck(b []byte, id byte, token uint16) (valid, match bool) {
	if len(b) < 4 || b[0] != protocolVersion || b[3] != id {
		return false, false
	}
	return true, b[1] == byte(token>>8) && b[2] == byte(token)
}

// txAckDatagram is the answer to a PULL_RESP: its token, and a JSON
// error only when there is one (an empty payload means success).
func txAckDatagram(tokenH, tokenL byte, eui uint64, jitErr string) []byte {
	b := header(txAck, uint16(tokenH)<<8|uint16(tokenL), eui)
	if jitErr != "" {
		b = append(b, `{"txpk_ack":{"error":"`...)
		b = append(b, jitErr...)
		b = append(b, `"}}`...)
	}
	return b
}

// dialServer resolves the server once, IPv4 only as the real forwarder
// does, and opens a connected UDP socket to it. The error text is the
// real forwarder's line for the failure.
func dialServer(server, port, dir string) (*net.UDPConn, error) {
	portWord := "PORT"
	if dir == "down" {
		portWord = "port"
	}
	ips, err := net.LookupIP(server)
	var v4 net.IP
	for _, ip := range ips {
		if ip.To4() != nil {
			v4 = ip.To4()
			break
		}
	}
	if err != nil || v4 == nil {
		return nil, fmt.Errorf("ERROR: [%s] getaddrinfo on address %s (%s %s) returned %s", dir, server, portWord, port, gaiText(err))
	}
	n, _ := strconv.Atoi(port)
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: v4, Port: n})
	if err != nil {
		return nil, fmt.Errorf("ERROR: [%s] connect returned %v", dir, err)
	}
	return conn, nil
}

// gaiText words a resolver failure as glibc's gai_strerror does.
func gaiText(err error) string {
	var dns *net.DNSError
	if err == nil || (errors.As(err, &dns) && dns.IsNotFound) {
		return "Name or service not known"
	}
	return "Temporary failure in name resolution"
}

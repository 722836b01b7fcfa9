// Package gwmp reads and writes the datagrams of Semtech's packet
// forwarder UDP protocol (GWMP), the protocol lora_pkt_fwd speaks to its
// server. It parses headers only: the JSON bodies pass through untouched,
// except for the two small readers a relay needs (TxAckError, CountRxpk).
//
// The wire facts it relies on are in docs/gwmp.md.
package gwmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Type is a GWMP packet type, byte 3 of every datagram.
type Type byte

// The six packet types of GWMP versions 1 and 2.
const (
	PushData Type = 0 // forwarder → server: uplinks and stats (header with EUI + JSON)
	PushAck  Type = 1 // server → forwarder: acknowledges a PUSH_DATA (4 bytes)
	PullData Type = 2 // forwarder → server: keepalive that opens the downlink path (header with EUI)
	PullResp Type = 3 // server → forwarder: a downlink (4 bytes + JSON, no EUI)
	PullAck  Type = 4 // server → forwarder: acknowledges a PULL_DATA (4 bytes)
	TxAck    Type = 5 // forwarder → server: the fate of a PULL_RESP (header with EUI + optional JSON)
)

var typeNames = [...]string{"PUSH_DATA", "PUSH_ACK", "PULL_DATA", "PULL_RESP", "PULL_ACK", "TX_ACK"}

// String returns the protocol's name of the type, such as "PUSH_DATA".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// HasEUI reports whether packets of this type carry the gateway EUI in
// bytes 4–11 (PUSH_DATA, PULL_DATA and TX_ACK: those the forwarder sends).
func (t Type) HasEUI() bool {
	return t == PushData || t == PullData || t == TxAck
}

// Sizes of the protocol.
const (
	// HeaderLen is the length of the header every datagram starts with:
	// version, two token bytes and the type.
	HeaderLen = 4
	// EUIHeaderLen is the header length of the types that carry an EUI.
	EUIHeaderLen = HeaderLen + 8
	// MaxDatagram is the largest UDP payload over IPv4 (65,535 minus the
	// IP and UDP headers); a relay must pass datagrams this large intact.
	MaxDatagram = 65507
)

// Errors Parse returns; each is wrapped with the details of the datagram.
var (
	ErrTooShort = errors.New("gwmp: datagram too short")
	ErrVersion  = errors.New("gwmp: unknown protocol version (want 1 or 2)")
	ErrType     = errors.New("gwmp: unknown packet type")
)

// Packet is one parsed datagram.
type Packet struct {
	Version byte   // 1 or 2; the Semtech forwarders send 2
	Token   uint16 // bytes 1–2, little-endian (so ChirpStack's downlink id 1001 is e9 03 on the wire)
	Type    Type
	EUI     uint64 // the gateway EUI, big-endian in bytes 4–11; only when Type.HasEUI()
	Payload []byte // the rest of the datagram (JSON or nothing); aliases the parsed slice
}

// Parse reads the header of a datagram. The payload is not copied and not
// checked: it is whatever follows the header.
func Parse(b []byte) (Packet, error) {
	if len(b) < HeaderLen {
		return Packet{}, fmt.Errorf("%w: %d bytes, a header is %d", ErrTooShort, len(b), HeaderLen)
	}
	p := Packet{Version: b[0], Token: binary.LittleEndian.Uint16(b[1:3]), Type: Type(b[3])}
	if p.Version != 1 && p.Version != 2 {
		return Packet{}, fmt.Errorf("%w: version byte %d", ErrVersion, p.Version)
	}
	if p.Type > TxAck {
		return Packet{}, fmt.Errorf("%w: type byte %d", ErrType, b[3])
	}
	if !p.Type.HasEUI() {
		p.Payload = b[HeaderLen:]
		return p, nil
	}
	if len(b) < EUIHeaderLen {
		return Packet{}, fmt.Errorf("%w: %d bytes, a %v header is %d", ErrTooShort, len(b), p.Type, EUIHeaderLen)
	}
	p.EUI = binary.BigEndian.Uint64(b[HeaderLen:EUIHeaderLen])
	p.Payload = b[EUIHeaderLen:]
	return p, nil
}

// Append appends the datagram's bytes to dst and returns the extended
// slice. The EUI is written only for the types that carry one.
func (p Packet) Append(dst []byte) []byte {
	dst = append(dst, p.Version, byte(p.Token), byte(p.Token>>8), byte(p.Type))
	if p.Type.HasEUI() {
		dst = binary.BigEndian.AppendUint64(dst, p.EUI)
	}
	return append(dst, p.Payload...)
}

// SetToken overwrites the token of the datagram b in place; b must be at
// least HeaderLen long. A relay uses it to forward a datagram with another
// token without copying it.
func SetToken(b []byte, token uint16) {
	binary.LittleEndian.PutUint16(b[1:3], token)
}

// Ack returns the 4-byte acknowledgement (PUSH_ACK or PULL_ACK) of a
// PUSH_DATA or PULL_DATA: the same version and token.
func Ack(version byte, token uint16, t Type) [HeaderLen]byte {
	return [HeaderLen]byte{version, byte(token), byte(token >> 8), byte(t)}
}

// FormatEUI writes an EUI as 16 lower-case hex digits (aa555a0000000001),
// as ChirpStack and the GWMP captures write it.
func FormatEUI(eui uint64) string {
	return fmt.Sprintf("%016x", eui)
}

package gwmp_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"pktfwd/gwmp"
)

// observed is one datagram of testdata/scenario-a.txt: the bytes the real
// forwarder and ChirpStack's gateway bridge exchanged, and the reference
// decoder's reading of them.
type observed struct {
	line  int
	raw   []byte
	typ   string // "PUSH_DATA" …
	ver   string // "v2"
	token string // bytes 1–2 in wire order, hex
	eui   string // "" when the decoder printed none
	body  string // the decoder's JSON, "" when none
}

func readObserved(t *testing.T) []observed {
	t.Helper()
	f, err := os.Open("testdata/scenario-a.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all []observed
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		rawHex, decoded, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("scenario-a.txt:%d: no tab", n)
		}
		raw, err := hex.DecodeString(rawHex)
		if err != nil {
			t.Fatalf("scenario-a.txt:%d: %v", n, err)
		}
		o := observed{line: n, raw: raw}
		fields := strings.SplitN(decoded, " ", 5)
		o.typ, o.ver, o.token = fields[0], fields[1], strings.TrimPrefix(fields[2], "token=")
		rest := fields[3:]
		if len(rest) > 0 && strings.HasPrefix(rest[0], "eui=") {
			o.eui = strings.TrimPrefix(rest[0], "eui=")
			rest = rest[1:]
		}
		o.body = strings.Join(rest, " ")
		all = append(all, o)
	}
	if len(all) != 90 {
		t.Fatalf("scenario-a.txt has %d datagrams, want the capture's 90", len(all))
	}
	return all
}

// Every datagram of the capture parses to what the reference decoder
// read, and Append gives back the same bytes.
func TestParse_Observed(t *testing.T) {
	for _, o := range readObserved(t) {
		p, err := gwmp.Parse(o.raw)
		if err != nil {
			t.Fatalf("line %d: %v", o.line, err)
		}
		wire := []byte{byte(p.Token), byte(p.Token >> 8)}
		if p.Type.String() != o.typ || fmt.Sprintf("v%d", p.Version) != o.ver || hex.EncodeToString(wire) != o.token {
			t.Errorf("line %d: got %v v%d token bytes %x, want %s %s token=%s", o.line, p.Type, p.Version, wire, o.typ, o.ver, o.token)
		}
		if o.eui != "" && gwmp.FormatEUI(p.EUI) != o.eui {
			t.Errorf("line %d: EUI %s, want %s", o.line, gwmp.FormatEUI(p.EUI), o.eui)
		}
		if o.eui == "" && p.Type.HasEUI() {
			t.Errorf("line %d: %v has an EUI, the capture's decoder found none", o.line, p.Type)
		}
		if (o.body == "") != (len(p.Payload) == 0) {
			t.Errorf("line %d: payload %q, decoder's body %q", o.line, p.Payload, o.body)
		}
		if got := p.Append(nil); !bytes.Equal(got, o.raw) {
			t.Errorf("line %d: Append gave %x, want %x", o.line, got, o.raw)
		}
	}
}

// The gateway bridge's downlink ids are the tokens, little-endian: the
// README of the captures shows downlink 1001 as e9 03 on the wire.
func TestParse_TokenIsChirpStackDownlinkID(t *testing.T) {
	for _, o := range readObserved(t) {
		if o.typ == "PULL_RESP" && o.token == "e903" {
			p, _ := gwmp.Parse(o.raw)
			if p.Token != 1001 {
				t.Fatalf("token %d, want downlink id 1001", p.Token)
			}
			return
		}
	}
	t.Fatal("no PULL_RESP e903 in the capture")
}

// The TX_ACK errors and the rxpk counts of the capture, read with the
// codec's cheap readers, match a full JSON decode of the reference lines.
func TestBodies_Observed(t *testing.T) {
	var txAcks, errs, rxpk int
	for _, o := range readObserved(t) {
		p, _ := gwmp.Parse(o.raw)
		var want struct {
			Rxpk    []json.RawMessage `json:"rxpk"`
			TxpkAck struct {
				Error string `json:"error"`
			} `json:"txpk_ack"`
		}
		if o.body != "" {
			if err := json.Unmarshal([]byte(o.body), &want); err != nil {
				t.Fatalf("line %d: %v", o.line, err)
			}
		}
		switch p.Type {
		case gwmp.TxAck:
			txAcks++
			got, err := gwmp.TxAckError(p.Payload)
			if err != nil || got != want.TxpkAck.Error {
				t.Errorf("line %d: TxAckError = %q, %v; want %q", o.line, got, err, want.TxpkAck.Error)
			}
			if got != "" {
				errs++
			}
		case gwmp.PushData:
			if got := gwmp.CountRxpk(p.Payload); got != len(want.Rxpk) {
				t.Errorf("line %d: CountRxpk = %d, want %d", o.line, got, len(want.Rxpk))
			}
			rxpk += len(want.Rxpk)
		}
	}
	// The capture's README: 7 commands, 8 TX_ACKs, 4 with an error; 31 CRC-OK uplinks.
	if txAcks != 8 || errs != 4 || rxpk != 31 {
		t.Errorf("%d TX_ACKs, %d with an error, %d rxpk; want 8, 4, 31", txAcks, errs, rxpk)
	}
}

func TestParse_Rejects(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", gwmp.ErrTooShort},
		{"three bytes", "0267c6", gwmp.ErrTooShort},
		{"PULL_DATA without its EUI", "0267c602aa555a00", gwmp.ErrTooShort},
		{"TX_ACK header only", "02e90305", gwmp.ErrTooShort},
		{"version 0", "0067c602aa555a0000000001", gwmp.ErrVersion},
		{"version 3", "0367c602aa555a0000000001", gwmp.ErrVersion},
		{"JSON, not GWMP", "7b227278706b223a5b5d7d", gwmp.ErrVersion},
		{"type 6", "0267c606", gwmp.ErrType},
		{"type 0xff", "0167c6ff", gwmp.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			if _, err := gwmp.Parse(b); !errors.Is(err, tt.want) {
				t.Errorf("Parse(%s) = %v, want %v", tt.hex, err, tt.want)
			}
		})
	}
}

func TestParse_Version1(t *testing.T) {
	// Version 1, which older forwarders and servers sent, has the same layout.
	p, err := gwmp.Parse([]byte{1, 0x34, 0x12, 1})
	if err != nil || p.Version != 1 || p.Token != 0x1234 || p.Type != gwmp.PushAck {
		t.Fatalf("Parse = %+v, %v", p, err)
	}
}

func TestParse_Largest(t *testing.T) {
	b := make([]byte, gwmp.MaxDatagram)
	copy(b, []byte{2, 1, 2, 0, 0xaa, 0x55, 0x5a, 0, 0, 0, 0, 1})
	for i := gwmp.EUIHeaderLen; i < len(b); i++ {
		b[i] = byte(i)
	}
	p, err := gwmp.Parse(b)
	if err != nil || len(p.Payload) != gwmp.MaxDatagram-gwmp.EUIHeaderLen {
		t.Fatalf("Parse = %d bytes of payload, %v", len(p.Payload), err)
	}
	if got := p.Append(nil); !bytes.Equal(got, b) {
		t.Fatal("65,507-byte datagram changed on the way through Parse and Append")
	}
}

func TestSetTokenAndAck(t *testing.T) {
	b, _ := hex.DecodeString("02e903037b7d")
	gwmp.SetToken(b, 0xbeef)
	p, _ := gwmp.Parse(b)
	if p.Token != 0xbeef || string(p.Payload) != "{}" {
		t.Fatalf("after SetToken: %+v", p)
	}
	// The capture's PULL_ACK to PULL_DATA 67c6: 0267c604.
	ack := gwmp.Ack(2, 0xc667, gwmp.PullAck)
	if hex.EncodeToString(ack[:]) != "0267c604" {
		t.Fatalf("Ack = %x, want 0267c604", ack)
	}
}

func TestType_String(t *testing.T) {
	if gwmp.TxAck.String() != "TX_ACK" || gwmp.Type(9).String() != "Type(9)" {
		t.Fatal(gwmp.TxAck.String(), gwmp.Type(9).String())
	}
}

func TestTxAckError(t *testing.T) {
	tests := []struct {
		body, want string
		bad        bool
	}{
		{``, "", false},
		{"\x00", "", false},
		{`{"txpk_ack":{"error":"NONE"}}`, "", false}, // gwmp-load.py and older forwarders
		{`{"txpk_ack":{"error":"TOO_LATE"}}` + "\x00", "TOO_LATE", false},
		{`{"txpk_ack":{"warn":"TX_POWER","value":20}}`, "", false},
		{`{"txpk_ack":`, "", true},
	}
	for _, tt := range tests {
		got, err := gwmp.TxAckError([]byte(tt.body))
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("TxAckError(%q) = %q, %v; want %q (error: %v)", tt.body, got, err, tt.want, tt.bad)
		}
	}
}

func TestCountRxpk(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{`{"stat":{"rxnb":0}}`, 0},
		{`{"rxpk":[]}`, 0},
		{`{"rxpk" : [ {"data":"a}b{"} , {"data":"\"}"} ],"stat":{"x":[{}]}}`, 2},
		{`{"rxpk":[{"rsig":[{"ant":0},{"ant":1}]}]}`, 1},
		{`{"rxpk":[{"a":1},{"b":`, 1},
		{`{"rxpk":{}}`, 0},
	}
	for _, tt := range tests {
		if got := gwmp.CountRxpk([]byte(tt.body)); got != tt.want {
			t.Errorf("CountRxpk(%s) = %d, want %d", tt.body, got, tt.want)
		}
	}
}

// Parse never panics, and whatever it accepts, Append writes back byte
// for byte; parsing that again gives the same packet.
func FuzzParseAppend(f *testing.F) {
	f.Add([]byte{2, 0x67, 0xc6, 2, 0xaa, 0x55, 0x5a, 0, 0, 0, 0, 1})
	f.Add([]byte{2, 0xe9, 0x03, 3, '{', '}'})
	f.Add([]byte{1, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, '{'})
	f.Add([]byte{3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := gwmp.Parse(b)
		if err != nil {
			return
		}
		out := p.Append(nil)
		if !bytes.Equal(out, b) {
			t.Fatalf("Append(Parse(%x)) = %x", b, out)
		}
		q, err := gwmp.Parse(out)
		if err != nil || q.Version != p.Version || q.Token != p.Token || q.Type != p.Type || q.EUI != p.EUI || !bytes.Equal(q.Payload, p.Payload) {
			t.Fatalf("reparse: %+v, %v; want %+v", q, err, p)
		}
		gwmp.CountRxpk(p.Payload)
		_, _ = gwmp.TxAckError(p.Payload)
	})
}

// Any packet of a known type written by Append parses back to itself.
func FuzzAppendParse(f *testing.F) {
	f.Add(byte(2), uint16(0x03e9), byte(3), uint64(0xaa555a0000000001), []byte(`{"txpk":{}}`))
	f.Add(byte(1), uint16(0), byte(0), uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, version byte, token uint16, typ byte, eui uint64, payload []byte) {
		p := gwmp.Packet{Version: 1 + version%2, Token: token, Type: gwmp.Type(typ % 6), Payload: payload}
		if p.Type.HasEUI() {
			p.EUI = eui
		}
		q, err := gwmp.Parse(p.Append(nil))
		if err != nil || q.Version != p.Version || q.Token != p.Token || q.Type != p.Type || q.EUI != p.EUI || !bytes.Equal(q.Payload, p.Payload) {
			t.Fatalf("Parse(Append(%+v)) = %+v, %v", p, q, err)
		}
	})
}

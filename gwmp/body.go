package gwmp

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// TxAckError returns the error a TX_ACK's JSON body reports
// (`{"txpk_ack":{"error":"TX_FREQ"}}` gives "TX_FREQ"). An empty body, a
// body without an error and the error "NONE" all mean success and give "".
// The Semtech forwarders send no body on success; other senders send
// "NONE". Trailing NUL bytes, which some forwarders append, are ignored.
func TxAckError(body []byte) (string, error) {
	body = bytes.TrimRight(body, "\x00")
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	var ack struct {
		TxpkAck struct {
			Error string `json:"error"`
		} `json:"txpk_ack"`
	}
	if err := json.Unmarshal(body, &ack); err != nil {
		return "", fmt.Errorf("gwmp: TX_ACK body is not the JSON object {\"txpk_ack\":{…}}: %w", err)
	}
	if ack.TxpkAck.Error == "NONE" {
		return "", nil
	}
	return ack.TxpkAck.Error, nil
}

// CountRxpk counts the objects in the "rxpk" array of a PUSH_DATA body
// without decoding them: 0 for a stat-only body. It scans the JSON the
// forwarder writes (strings and nesting are honoured) and does not
// validate it; a truncated array counts the objects that are complete.
func CountRxpk(body []byte) int {
	i := bytes.Index(body, []byte(`"rxpk"`))
	if i < 0 {
		return 0
	}
	rest := bytes.TrimLeft(body[i+len(`"rxpk"`):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return 0
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' {
		return 0
	}
	n, depth := 0, 0
	inString, escaped := false, false
	for _, c := range rest[1:] {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return n // the end of the rxpk array
			}
			depth--
			if depth == 0 && c == '}' {
				n++
			}
		}
	}
	return n
}

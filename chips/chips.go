// Package chips names the concentrator chip models. It is the one place
// both the hardware side (concentrator, which detects a model) and the
// rendering side (configs, which writes a config for one) take the model
// from, so that neither imports the other.
package chips

import (
	"fmt"
	"strings"
)

// Model is a concentrator chip model.
type Model string

// The chip models pktfwd supports.
const (
	SX1301 Model = "sx1301"
	SX1302 Model = "sx1302"
	SX1303 Model = "sx1303"
)

// ParseModel reads "sx1301", "SX1302", … ("auto" and "" are not models).
func ParseModel(s string) (Model, error) {
	switch m := Model(strings.ToLower(strings.TrimSpace(s))); m {
	case SX1301, SX1302, SX1303:
		return m, nil
	}
	return "", fmt.Errorf("unknown chip %q: want sx1301, sx1302 or sx1303", s)
}

// CoreCell tells whether the chip is of the SX1302 family (SX1302, SX1303),
// which runs the sx1302_hal forwarder and uses SX1250 radios.
func (m Model) CoreCell() bool { return m == SX1302 || m == SX1303 }

// Package concentrator is the hardware edge: the variant table, the reset
// lines on the GPIO character device, and telling SX1301, SX1302 and SX1303
// apart over SPI. It knows nothing of regions, JSON or processes.
package concentrator

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

// Chip is what a probe found.
type Chip struct {
	Model   Model  `json:"model"`
	Version byte   `json:"version"`
	Decided string `json:"decided"` // what told the model apart
	Raw     []byte `json:"raw"`     // every byte the chip answered, in order
}

func (c Chip) String() string {
	return fmt.Sprintf("%s (version 0x%02X, %s)", strings.ToUpper(string(c.Model)), c.Version, c.Decided)
}

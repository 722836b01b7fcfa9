// Package concentrator is the hardware edge: the variant table, the reset
// lines on the GPIO character device, and telling SX1301, SX1302 and SX1303
// apart over SPI. It knows nothing of regions, JSON or processes.
package concentrator

import (
	"fmt"
	"strings"

	"pktfwd/chips"
)

// Model is a concentrator chip model; package chips defines the models,
// so that configs can name them without importing this package.
type Model = chips.Model

// The chip models pktfwd supports.
const (
	SX1301 = chips.SX1301
	SX1302 = chips.SX1302
	SX1303 = chips.SX1303
)

// ParseModel reads "sx1301", "SX1302", … ("auto" and "" are not models).
func ParseModel(s string) (Model, error) { return chips.ParseModel(s) }

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

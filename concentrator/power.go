package concentrator

import (
	"context"
	"errors"
	"time"
)

// ErrNoPowerLine means the board has no power-enable line to cycle
// (POWER_EN_GPIO unset and none in the variant).
var ErrNoPowerLine = errors.New("no power-enable line (POWER_EN_GPIO) to cycle the concentrator's power")

// powerOffSteps is how long the power stays off, in reset steps (1 s with
// the default step), long enough for the module's supply to drain.
const powerOffSteps = 10

// PowerCycle holds the chip in reset and switches its power off and on
// again, for a concentrator that a reset did not bring back. The next
// Start performs the usual reset. Without a power-enable line it returns
// ErrNoPowerLine and changes nothing.
func (l *Lines) PowerCycle(ctx context.Context) error {
	if l == nil || l.PowerEn == nil {
		return ErrNoPowerLine
	}
	if err := l.run(ctx, []step{{l.Reset, "reset", 1}, {l.PowerEn, "power-enable", 0}}); err != nil {
		return err
	}
	d := l.Step
	if d == 0 {
		d = DefaultStep
	}
	t := time.NewTimer((powerOffSteps - 1) * d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	return l.run(ctx, []step{{l.PowerEn, "power-enable", 1}})
}

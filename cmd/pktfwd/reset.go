package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"pktfwd/supervisor"
)

// resetCommand performs the reset sequence by hand (reset_lgw.sh calls it
// when run outside the supervisor): start resets the chip, stop holds it in
// reset. It drives only the GPIO lines, so only the hardware settings and
// CHIP are checked; no SPI bus is needed.
func resetCommand(*flag.FlagSet) action {
	return func(ctx context.Context, args []string) error {
		if args[0] != "start" && args[0] != "stop" {
			return fmt.Errorf("%w: usage: pktfwd reset start|stop", errUsage)
		}
		cfg, src, decodeErrs := decodeEnv(environ())
		errs := variantErrors(decodeErrs)
		m, forced, err := cfg.ChipModel()
		if err != nil {
			errs = append(errs, supervisor.NewConfigError("CHIP", cfg.Chip, "want auto, sx1301, sx1302 or sx1303"))
		}
		hw, err := hardwareFor(cfg, src, errs, false)
		if err != nil {
			return err
		}
		lines, err := hw.RequestLines("/sys", func(how string) { fmt.Fprintln(os.Stderr, "GPIO:", how) })
		if err != nil {
			return err
		}
		defer lines.Close()
		if lines.None() {
			fmt.Fprintln(os.Stderr, "no reset line configured: nothing to do")
			return nil
		}
		if args[0] == "stop" {
			return lines.Stop()
		}
		return lines.Start(ctx, !forced || m.CoreCell())
	}
}

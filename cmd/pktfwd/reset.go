package main

import (
	"context"
	"fmt"
	"os"
)

// reset performs the reset sequence by hand (reset_lgw.sh calls it when run
// outside the supervisor): start resets the chip, stop holds it in reset.
func reset(ctx context.Context, args []string) error {
	if len(args) != 1 || args[0] != "start" && args[0] != "stop" {
		return fmt.Errorf("%w: usage: pktfwd reset start|stop", errUsage)
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	hw, _ := cfg.Hardware()
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
	m, forced, _ := cfg.ChipModel()
	return lines.Start(ctx, !forced || m.CoreCell())
}

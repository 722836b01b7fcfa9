package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"pktfwd/concentrator"
)

// detect resets the concentrator and probes its chip.
func detect(ctx context.Context, args []string) error {
	cfg, _ := readEnv() // the hardware settings are strings: they always parse
	fs := flag.NewFlagSet("pktfwd detect", flag.ContinueOnError)
	fs.StringVar(&cfg.SPIBus, "spi", cfg.SPIBus, "SPI bus, e.g. spidev0.0 (default: SPI_BUS or the variant's)")
	fs.StringVar(&cfg.Variant, "variant", cfg.Variant, "hardware variant (default: VARIANT)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	hw, errs := cfg.Hardware()
	if len(errs) > 0 {
		return fmt.Errorf("%w: %v", errUsage, errors.Join(errs...))
	}
	lines, err := hw.RequestLines("/sys", func(how string) { fmt.Fprintln(os.Stderr, "GPIO:", how) })
	if err != nil {
		return err
	}
	defer lines.Close()
	if err := lines.Start(ctx, true); err != nil {
		return err
	}
	conn, c, err := concentrator.OpenSPI(hw.Bus)
	if err != nil {
		return err
	}
	defer c.Close()
	chip, e, err := concentrator.Identify(conn)
	if err != nil {
		return fmt.Errorf("%s: %w", hw.Bus.Path(), err)
	}
	var eui string
	if e != 0 {
		eui = fmt.Sprintf("%016X", e)
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(struct {
			concentrator.Chip
			Bus string `json:"bus"`
			EUI string `json:"eui,omitempty"`
		}{chip, hw.Bus.Path(), eui})
	}
	fmt.Printf("%s on %s\n", chip, hw.Bus.Path())
	if eui != "" {
		fmt.Println("concentrator EUI", eui)
	}
	return nil
}

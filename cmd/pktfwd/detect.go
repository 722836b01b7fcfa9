package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"pktfwd/concentrator"
)

// detect resets the concentrator and probes its chip.
func detect(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pktfwd detect", flag.ContinueOnError)
	bus := fs.String("spi", os.Getenv("SPI_BUS"), "SPI bus, e.g. spidev0.0 (default: SPI_BUS or the variant's)")
	variant := fs.String("variant", os.Getenv("VARIANT"), "hardware variant (default: VARIANT)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	hw, errs := concentrator.Resolve(concentrator.Settings{Variant: *variant, SPIBus: *bus,
		ResetPin: os.Getenv("RESET_PIN"), ResetGPIO: os.Getenv("RESET_GPIO"), PowerEnGPIO: os.Getenv("POWER_EN_GPIO"), SX1261ResetGPIO: os.Getenv("SX1261_RESET_GPIO")})
	if len(errs) > 0 {
		return fmt.Errorf("%w: %v", errUsage, errs)
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

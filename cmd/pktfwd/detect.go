package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

// detectCommand resets the concentrator and probes its chip; a USB
// concentrator is only looked for.
func detectCommand(fs *flag.FlagSet) action {
	bus := fs.String("spi", "", "SPI bus, e.g. spidev0.0 (default: SPI_BUS, else the variant's)")
	variant := fs.String("variant", "", "hardware variant (default: VARIANT)")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, _ []string) error {
		cfg, src, decodeErrs := decodeEnv(environ())
		errs := variantErrors(decodeErrs)
		if *variant != "" {
			cfg.Variant, src.variantFile, errs = *variant, "", nil
			delete(src.raw, "VARIANT")
		}
		if *bus != "" {
			cfg.SPIBus, cfg.ConcentratorInterface = *bus, "spi"
		}
		hw, err := hardwareFor(cfg, src, errs, true)
		if err != nil {
			return err
		}
		if hw.USB {
			return detectUSB(hw.USBDevice, *asJSON)
		}
		return detectSPI(ctx, hw, *asJSON)
	}
}

// hardwareFor resolves the hardware settings of cfg and reports only their
// problems, and those in errs: detect and reset need nothing else. Without
// needBus a missing or bad SPI bus is no problem.
func hardwareFor(cfg supervisor.Config, src sources, errs supervisor.ConfigErrors, needBus bool) (concentrator.Hardware, error) {
	if !needBus && cfg.SPIBus == "" {
		cfg.SPIBus = "spidev0.0" // any bus: only the lines are used
	}
	hw, _ := cfg.Hardware()
	for _, e := range cfg.HardwareErrors() {
		if needBus || e.Variable != "SPI_BUS" {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return hw, &invalidConfig{errs: src.attribute(errs)}
	}
	if src.variantFile != "" {
		fmt.Fprintf(os.Stderr, "VARIANT %s, read from %s\n", cfg.Variant, src.variantFile)
	}
	return hw, nil
}

// detectUSB says what is known without a probe: USB concentrators are of
// the SX1302 family (the SX1301 is SPI only; docs/configuration.md), and
// whether the device is there.
func detectUSB(dev string, asJSON bool) error {
	st, err := os.Stat(dev)
	exists := err == nil && st.Mode()&fs.ModeCharDevice != 0
	if asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(struct {
			Interface string `json:"interface"`
			Device    string `json:"device"`
			Family    string `json:"family"`
			Exists    bool   `json:"exists"`
		}{"usb", dev, "sx1302", exists}); err != nil {
			return err
		}
	} else {
		fmt.Printf("USB concentrator on %s: SX1302 family (SX1302 or SX1303; not probed over USB)\n", dev)
	}
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w: plug the concentrator in, pass the device to the container, or set USB_DEVICE", dev, err)
	case !exists:
		return fmt.Errorf("%s is not a character device (mode %#o): set USB_DEVICE to the concentrator's tty, e.g. /dev/ttyACM0", dev, st.Mode().Perm())
	}
	if !asJSON {
		fmt.Printf("%s exists\n", dev)
	}
	return nil
}

func detectSPI(ctx context.Context, hw concentrator.Hardware, asJSON bool) error {
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
	if asJSON {
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

// variantErrors keeps the errors about VARIANT (reading its file): of the
// variables that can fail to parse, the only one about the hardware.
func variantErrors(errs supervisor.ConfigErrors) supervisor.ConfigErrors {
	var out supervisor.ConfigErrors
	for _, e := range errs {
		if e.Variable == "VARIANT" {
			out = append(out, e)
		}
	}
	return out
}

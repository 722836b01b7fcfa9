package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/regions"
	"pktfwd/supervisor"
)

// render prints (or writes) the config for a region and chip, e.g. for a
// firmware image built without a concentrator at hand.
func render(args []string) error {
	fs := flag.NewFlagSet("pktfwd render", flag.ContinueOnError)
	region := fs.String("region", "", "region plan, e.g. EU868 (see pktfwd regions)")
	chip := fs.String("chip", "sx1302", "sx1301, sx1302 or sx1303")
	bus := fs.String("spi", "spidev0.0", "SPI bus")
	usb := fs.String("usb", "", "USB device, e.g. /dev/ttyACM0, instead of SPI")
	eui := fs.String("eui", "AA555A0000000000", "gateway EUI, 16 hex digits")
	server := fs.String("server", "127.0.0.1", "server address")
	port := fs.Int("port", 1680, "server port, up and down")
	out := fs.String("out", "", "write the files into this directory instead of printing")
	overlay := fs.String("overlay", "", "JSON merge patch applied on top")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	plan, err := regions.Parse(*region)
	if err != nil {
		return fmt.Errorf("%w: --region: %v", errUsage, err)
	}
	m, err := concentrator.ParseModel(*chip)
	if err != nil {
		return fmt.Errorf("%w: --chip: %v", errUsage, err)
	}
	site := configs.Site{GatewayID: *eui, Server: *server, PortUp: *port, PortDown: *port}
	if *usb != "" {
		site.USBPath = *usb
	} else {
		b, err := concentrator.ParseBus(*bus)
		if err != nil {
			return fmt.Errorf("%w: --spi: %v", errUsage, err)
		}
		site.SPIPath = b.Path()
	}
	if site.GatewayID, err = configs.ParseEUI(*eui); err != nil {
		return fmt.Errorf("%w: --eui: %v", errUsage, err)
	}
	files, err := configs.Render(m, plan, site)
	if err == nil && *overlay != "" {
		files, err = configs.ApplyOverlay(m, files, "--overlay", []byte(*overlay))
	}
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if *out == "" {
			if len(files) > 1 {
				fmt.Printf("// %s\n", n)
			}
			os.Stdout.Write(files[n])
			continue
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		p := filepath.Join(*out, n)
		if err := supervisor.WriteFileAtomic(p, files[n], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", p)
	}
	return nil
}

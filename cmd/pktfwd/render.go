package main

import (
	"context"
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

// placeholderEUI is the gateway ID render uses without --eui: Semtech's
// example ID, never a real hotspot's.
const placeholderEUI = "AA555A0000000000"

// renderCommand prints (or writes) the config for a region and chip, e.g.
// for a firmware image built without a concentrator at hand.
func renderCommand(fs *flag.FlagSet) action {
	region := fs.String("region", "", "region plan, e.g. EU868 (see pktfwd regions)")
	chip := fs.String("chip", "sx1302", "sx1301, sx1302 or sx1303")
	bus := fs.String("spi", "spidev0.0", "SPI bus")
	usb := fs.String("usb", "", "USB device, e.g. /dev/ttyACM0, instead of SPI")
	eui := fs.String("eui", "", "gateway EUI, 16 hex digits (default: the placeholder "+placeholderEUI+")")
	server := fs.String("server", "127.0.0.1", "server address")
	port := fs.Int("port", 1680, "server port, up and down")
	out := fs.String("out", "", "write the files into this directory instead of printing")
	overlay := fs.String("overlay", "", "JSON merge patch applied on top")
	return func(context.Context, []string) error {
		plan, err := regions.Parse(*region)
		if err != nil {
			return fmt.Errorf("%w: --region: %v", errUsage, err)
		}
		m, err := concentrator.ParseModel(*chip)
		if err != nil {
			return fmt.Errorf("%w: --chip: %v", errUsage, err)
		}
		site := configs.Site{Server: *server, PortUp: *port, PortDown: *port}
		if *usb != "" {
			site.USBPath = *usb
		} else {
			b, err := concentrator.ParseBus(*bus)
			if err != nil {
				return fmt.Errorf("%w: --spi: %v", errUsage, err)
			}
			site.SPIPath = b.Path()
		}
		if *eui == "" {
			site.GatewayID = placeholderEUI
			fmt.Fprintf(os.Stderr, "gateway ID %s is a placeholder: pass --eui with the hotspot's 16 hex digits\n", placeholderEUI)
		} else if site.GatewayID, err = configs.ParseEUI(*eui); err != nil {
			return fmt.Errorf("%w: --eui: %v", errUsage, err)
		}
		files, err := configs.Render(m, plan, site)
		if err == nil && *overlay != "" {
			files, err = configs.ApplyOverlay(m, files, "--overlay", []byte(*overlay))
		}
		if err != nil {
			return err
		}
		if *out != "" {
			return writeFiles(*out, files)
		}
		doc, err := oneDocument(files)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(doc)
		return err
	}
}

// oneDocument is the configuration as the forwarder reads it, as one JSON
// document: global_conf.json, with local_conf.json (SX1301) merged over it
// as the forwarder merges it.
func oneDocument(files configs.Files) ([]byte, error) {
	local, ok := files["local_conf.json"]
	if !ok {
		return files["global_conf.json"], nil
	}
	merged, err := files.Overlay("local_conf.json", local)
	if err != nil {
		return nil, err
	}
	return merged["global_conf.json"], nil
}

func writeFiles(dir string, files configs.Files) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := supervisor.WriteFileAtomic(p, files[n], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", p)
	}
	return nil
}

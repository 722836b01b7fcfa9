// Command pktfwd supervises the Semtech LoRa packet forwarder (lora_pkt_fwd)
// on Helium hotspots. Run with no argument it is the supervisor; `pktfwd
// help` lists the subcommands and every environment variable.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"pktfwd/internal/fakefwd"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// errUsage makes main exit 2: a configuration or usage error.
var errUsage = errors.New("usage error")

func main() {
	// `pktfwd demo` runs this binary as its simulated forwarder.
	if filepath.Base(os.Args[0]) == "lora_pkt_fwd" && os.Getenv("PKTFWD_SIMULATED_FORWARDER") == "1" {
		os.Exit(fakefwd.Main())
	}
	err := run(context.Background(), os.Args[1:])
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "pktfwd:", err)
		os.Exit(1)
	}
}

// run dispatches to one subcommand per file.
func run(ctx context.Context, args []string) error {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runSupervisor(ctx, args)
	case "detect":
		return detect(ctx, args)
	case "render":
		return render(args)
	case "regions":
		return listRegions(args)
	case "variants":
		return listVariants(args)
	case "reset":
		return reset(ctx, args)
	case "demo":
		return demo(ctx, args)
	case "health":
		return health(args)
	case "version", "--version", "-v":
		fmt.Println("pktfwd", version)
		return nil
	case "help", "--help", "-h":
		return help()
	}
	return fmt.Errorf("%w: unknown command %q; run `pktfwd help`", errUsage, cmd)
}

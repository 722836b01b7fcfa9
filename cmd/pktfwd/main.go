// Command pktfwd supervises the Semtech LoRa packet forwarder (lora_pkt_fwd)
// on Helium hotspots. Run with no argument it is the supervisor; `pktfwd
// help` lists the subcommands, their flags and every environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"pktfwd/internal/fakefwd"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

var (
	// errUsage makes main exit 2: a configuration or usage error.
	errUsage = errors.New("usage error")
	// errLogged marks an error already printed (as log lines).
	errLogged = errors.New("already logged")
)

func main() {
	// `pktfwd demo` runs this binary as its simulated forwarder.
	if filepath.Base(os.Args[0]) == "lora_pkt_fwd" && os.Getenv("PKTFWD_SIMULATED_FORWARDER") == "1" {
		os.Exit(fakefwd.Main())
	}
	err := run(context.Background(), os.Args[1:])
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		if !errors.Is(err, errLogged) {
			fmt.Fprintln(os.Stderr, "pktfwd:", err)
		}
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "pktfwd:", err)
		os.Exit(1)
	}
}

// action runs a command with the positional arguments left after its flags.
type action func(ctx context.Context, args []string) error

// command is one subcommand, in a file of its own. setup defines its flags
// on fs and returns what it does, so that the help is generated from the
// same FlagSet that parses the arguments.
type command struct {
	name, args, summary string
	minArgs, maxArgs    int
	setup               func(fs *flag.FlagSet) action
}

func commands() []command {
	return []command{
		{name: "run", summary: "run the supervisor (the default; configured by the environment below)", setup: runCommand},
		{name: "demo", summary: "run the real loop on a simulated concentrator and forwarder", setup: demoCommand},
		{name: "detect", summary: "reset the concentrator and probe its chip (configured by the environment; the flags win)", setup: detectCommand},
		{name: "render", summary: "print one config as a JSON document, or write its files with --out", setup: renderCommand},
		{name: "regions", summary: "list the region plans and their uplink channels", setup: noFlags(listRegions)},
		{name: "variants", summary: "list the hardware variants", setup: noFlags(listVariants)},
		{name: "reset", args: "start|stop", minArgs: 1, maxArgs: 1, summary: "reset the concentrator, or hold it in reset (as reset_lgw.sh)", setup: resetCommand},
		{name: "health", summary: "exit 0 only when a forwarder runs and its last report is fresh and healthy (a Docker HEALTHCHECK)", setup: healthCommand},
		{name: "version", summary: "print the version", setup: noFlags(printVersion)},
		{name: "help", args: "[COMMAND]", maxArgs: 1, summary: "this text, or one command's", setup: helpCommand},
	}
}

func noFlags(f func() error) func(*flag.FlagSet) action {
	return func(*flag.FlagSet) action { return func(context.Context, []string) error { return f() } }
}

// run dispatches to the command named by args[0]; no argument is "run".
func run(ctx context.Context, args []string) error {
	name := "run"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-v", "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args)
		}
	}
	return fmt.Errorf("%w: unknown command %q; `pktfwd help` lists them", errUsage, name)
}

func (c command) flagSet() (*flag.FlagSet, action) {
	fs := flag.NewFlagSet("pktfwd "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned and printed once, by main
	return fs, c.setup(fs)
}

func (c command) run(ctx context.Context, args []string) error {
	fs, do := c.flagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // as `pktfwd help NAME`, which adds run's variables
			return helpCommand(nil)(ctx, []string{c.name})
		}
		return fmt.Errorf("%w: pktfwd %s: %v; `pktfwd help %s` lists its flags", errUsage, c.name, err, c.name)
	}
	if n := fs.NArg(); n < c.minArgs || n > c.maxArgs {
		want := "no arguments"
		if c.args != "" {
			want = "the arguments " + c.args
		}
		return fmt.Errorf("%w: pktfwd %s takes %s, not %q", errUsage, c.name, want, strings.Join(fs.Args(), " "))
	}
	return do(ctx, fs.Args())
}

// usage prints the command's line, summary and flags.
func (c command) usage(w io.Writer) {
	fs, _ := c.flagSet()
	line := "pktfwd " + c.name
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		line += " [flags]"
	}
	if c.args != "" {
		line += " " + c.args
	}
	fmt.Fprintf(w, "%s\n    %s\n", line, c.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func printVersion() error {
	fmt.Println("pktfwd", version)
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"

	"pktfwd/supervisor"
)

// helpCommand prints the usage of every command, or of the one named.
func helpCommand(*flag.FlagSet) action {
	return func(_ context.Context, args []string) error {
		if len(args) == 1 {
			for _, c := range commands() {
				if c.name == args[0] {
					c.usage(os.Stdout)
					if c.name == "run" {
						fmt.Println()
						return printEnvironment(os.Stdout)
					}
					return nil
				}
			}
			return fmt.Errorf("%w: no command %q; `pktfwd help` lists them", errUsage, args[0])
		}
		fmt.Print("pktfwd supervises lora_pkt_fwd on Helium hotspots.\n\nCommands (no command: run):\n\n")
		for _, c := range commands() {
			c.usage(os.Stdout)
			fmt.Println()
		}
		return printEnvironment(os.Stdout)
	}
}

// printEnvironment prints the variables of run, detect and reset, with
// their defaults, from the Config struct tags.
func printEnvironment(w io.Writer) error {
	names := make([]string, 0, len(aliases))
	for a := range aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	fmt.Fprint(w, "Environment (run, detect, reset). Empty, False and None count as unset; seconds may be\nfractional (0.5). Aliases:")
	for i, a := range names {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %s for %s", sep, a, aliases[a])
	}
	fmt.Fprint(w, ".\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if err := envconfig.Usagef("", &supervisor.Config{}, tw, envconfig.DefaultTableFormat); err != nil {
		return err
	}
	return tw.Flush()
}

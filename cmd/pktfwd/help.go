package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// environmentTable is envconfig's usage table of supervisor.Config:
// envconfig.Usagef with its DefaultTableFormat through a tabwriter. It is
// made when the code changes, not at run time, because Usagef runs
// text/template, whose reflective method calls make the linker keep every
// exported method of every type: about 1 MB of the binary
// (docs/binary-size.md). TestEnvironmentTable regenerates it with -update
// and fails when it is out of date.
//
//go:embed environment.txt
var environmentTable string

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
	_, err := io.WriteString(w, environmentTable)
	return err
}

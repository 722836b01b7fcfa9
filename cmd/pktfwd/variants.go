package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"pktfwd/concentrator"
)

// listVariants prints hm-pyhelper's hardware table.
func listVariants() error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VARIANT\tSPI BUS\tRESET (global GPIO)\tNAME")
	for _, v := range concentrator.Variants() {
		name := v.Friendly
		if v.Legacy {
			name += " (legacy name)"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", v.Name, v.SPIBus, v.Reset, name)
	}
	return w.Flush()
}

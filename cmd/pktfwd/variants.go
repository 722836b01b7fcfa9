package main

import (
	"fmt"
	"os"
	"sort"
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
	fmt.Fprintln(w, "\nALIAS\tVARIANT\t\t(resolves exactly like its variant)")
	al := concentrator.Aliases()
	names := make([]string, 0, len(al))
	for a := range al {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		fmt.Fprintf(w, "%s\t%s\t\t\n", a, al[a])
	}
	return w.Flush()
}

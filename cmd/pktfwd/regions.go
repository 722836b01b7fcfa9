package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"pktfwd/regions"
)

// listRegions prints every plan with its enum number, the plain names that
// resolve to it and its uplink channels in MHz.
func listRegions() error {
	aliases := map[string][]string{}
	for a, p := range regions.Aliases() {
		if n, ok := regions.Number(a); ok {
			a = fmt.Sprintf("%s=%d", a, n)
		}
		aliases[p] = append(aliases[p], a)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PLAN\tENUM\tALSO\tUPLINK CHANNELS (MHz)\tLORA-STD\tTX RANGE (MHz)")
	for _, p := range regions.Plans() {
		sort.Strings(aliases[p.Name])
		num := "-"
		if n, ok := regions.Number(p.Name); ok {
			num = fmt.Sprint(n)
		}
		var ups []string
		for _, f := range p.Uplinks() {
			ups = append(ups, f.MHz())
		}
		std := "-"
		if p.Std != nil {
			std = fmt.Sprintf("%s/%dk/SF%d", (p.Radios[p.Std.Radio] + p.Std.IF).MHz(), p.Std.Bandwidth/1000, p.Std.SF)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s-%s\n", p.Name, num, strings.Join(aliases[p.Name], ","), strings.Join(ups, " "), std, p.TX[0].MHz(), p.TX[1].MHz())
	}
	return w.Flush()
}

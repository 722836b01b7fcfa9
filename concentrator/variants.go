package concentrator

import (
	"fmt"
	"sort"
	"strings"
)

// Variant is one row of hm-pyhelper's hardware table: the SPI bus and the
// reset line (a legacy global GPIO number) of a hotspot model.
type Variant struct {
	Name     string
	Friendly string
	SPIBus   string
	Reset    int  // legacy global GPIO number (hm-pyhelper's RESET)
	Legacy   bool // a name older fleets still set
}

// variants is derived from NebraLtd/hm-pyhelper hardware_definitions.py
// (docs/hm-pktfwd.md): its current names, then the legacy names that are
// neither current nor an alias. concentrator/testdata/variants.json holds
// that table as reference data; the tests check this one against it.
var variants = []Variant{
	{"nebra-indoor1", "Nebra Indoor Hotspot Gen 1", "spidev1.2", 38, false},
	{"nebra-outdoor1", "Nebra Outdoor Hotspot Gen 1", "spidev1.2", 38, false},
	{"nebra-outdoor2", "Nebra ROCK Pi 4 Outdoor", "spidev32766.0", 149, false},
	{"nebra-light1", "Nebra Pi 0 Light Hotspot SE", "spidev1.2", 22, false},
	{"NEBHNT-LGT-ZX", "Nebra Pi 0 Light Hotspot XE", "spidev1.2", 22, false},
	{"nebra-light2", "Nebra Radxa Zero Light Hotspot II SE", "spidev0.0", 415, false},
	{"nebra-light3", "Nebra Raspberry Pi Zero Light Hotspot II SE", "spidev1.2", 4, false},
	{"NEBHNT-BBB", "Nebra Beaglebone Light Hotspot", "spidev1.0", 60, false},
	{"NEBHNT-PBB", "Nebra Pocket Beagle Light Hotspot", "spidev1.2", 60, false},
	{"nebra-indoor2", "Nebra ROCK Pi 4 Indoor", "spidev32766.0", 149, false},
	{"NEBHNT-HHTK", "Nebra Hotspot HAT Tinkerboard Light", "spidev2.0", 167, false},
	{"rak-fl1", "RAK Hotspot", "spidev0.0", 25, false},
	{"helium-fl1", "Helium Hotspot", "spidev0.0", 25, false},
	{"sensecap-fl1", "SenseCAP M1", "spidev0.0", 17, false},
	{"pantherx1-fl1", "Panther X1", "spidev0.0", 23, false},
	{"finestra-fl1", "Finestra Miner", "spidev0.0", 17, false},
	{"pisces-fl1", "Pisces P100", "spidev0.0", 23, false},
	{"controllino-fl1", "Controllino  (Conelcom) Hotspot", "spidev0.0", 4, false},
	{"DIY-PISLGH", "DIY Pi Supply Hotspot HAT", "spidev0.0", 22, false},
	{"DIY-RAK2287", "DIY RAK2247/RAK2287 HAT", "spidev0.0", 17, false},
	{"linxdot-fl1", "Linxdot Hotspot", "spidev0.0", 17, false},
	{"linxdot-rk3566-fl1", "Linxdot RK3566 Hotspot", "spidev0.0", 17, false},
	{"pycom-fl1", "Pycom Hotspot", "spidev0.0", 23, false},
	{"syncrobit-fl1", "Syncrobit Hotspot", "spidev0.0", 17, false},
	{"syncrobit-rkcm3-fl1", "Syncrobit RockPi Hotspot", "spidev0.0", 17, false},
	{"cotx-fl1", "COTX X3", "spidev0.0", 22, false},
	{"risinghf-fl1", "RisingHF Hotspot", "spidev1.0", 38, false},
	{"midas-fl1", "Midas Hotspot", "spidev0.0", 17, false},
	{"bobcat-px30", "Bobcat PX30 Hotspot (1GB RAM)", "spidev1.0", 104, false},
	{"bobcat-rk3566", "Bobcat RK3566 Hotspot (2GB RAM)", "spidev5.0", 149, false},
	{"heltec-fl1", "Heltec HT-M2808 Hotspot", "spidev32766.0", 2, false},
	{"NEBHNT-HHRPI", "Nebra Hotspot HAT RPi", "spidev0.0", 22, true},
	{"NEBHNT-HHRPL", "Nebra Hotspot HAT RPi Light", "spidev0.0", 22, true},
	{"NEBHNT-HHTK2", "Nebra Hotspot HAT Tinkerboard 2", "spidev2.0", 167, true},
}

// aliases are the old names the latest hm-pyhelper maps onto current ones
// (alias → current name). An alias resolves exactly like its target.
var aliases = map[string]string{
	"Indoor":              "nebra-indoor1",
	"NEBHNT-IN1":          "nebra-indoor1",
	"NEBHNT-OUT1":         "nebra-outdoor1",
	"Outdoor":             "nebra-outdoor1",
	"NEBHNT-LGT-ZS":       "nebra-light1",
	"NEBHNT-LGT-RADXA":    "nebra-light2",
	"NEBHNT-HHRK4":        "nebra-indoor2",
	"NEBHNT-HHRK4-OUT":    "nebra-outdoor2",
	"COMP-RAKHM":          "rak-fl1",
	"COMP-HELIUM":         "helium-fl1",
	"COMP-SENSECAPM1":     "sensecap-fl1",
	"COMP-PANTHERX1":      "pantherx1-fl1",
	"COMP-FINESTRA":       "finestra-fl1",
	"COMP-PISCESP100":     "pisces-fl1",
	"COMP-COTX3":          "cotx-fl1",
	"COMP-CONTROLLINO":    "controllino-fl1",
	"COMP-LINXDOTCM4":     "linxdot-fl1",
	"COMP-PYCOM":          "pycom-fl1",
	"COMP-SYNCROBITCM4":   "syncrobit-fl1",
	"COMP-MIDAS":          "midas-fl1",
	"COMP-SYNCROBITRKCM3": "syncrobit-rkcm3-fl1",
	"COMP-LINXDOTRK3566":  "linxdot-rk3566-fl1",
	"COMP-RISINGHF":       "risinghf-fl1",
	"COMP-BOBCATPX30":     "bobcat-px30",
	"COMP-BOBCATRK3566":   "bobcat-rk3566",
}

// Variants returns the table, current names first. Aliases are not in it.
func Variants() []Variant { return append([]Variant(nil), variants...) }

// Aliases returns a copy of the alias map (alias → current name).
func Aliases() map[string]string {
	m := make(map[string]string, len(aliases))
	for a, t := range aliases {
		m[a] = t
	}
	return m
}

// LookupVariant finds a variant by name or alias, ignoring case; an alias
// gives its target's row. An unknown name is an error listing the closest
// names.
func LookupVariant(name string) (Variant, error) {
	n := strings.TrimSpace(name)
	for a, t := range aliases {
		if strings.EqualFold(a, n) {
			n = t
			break
		}
	}
	for _, v := range variants {
		if strings.EqualFold(v.Name, n) {
			return v, nil
		}
	}
	return Variant{}, fmt.Errorf("unknown VARIANT %q; closest: %s (`pktfwd variants` lists all, "+
		"or set SPI_BUS and RESET_GPIO/RESET_PIN instead)", name, strings.Join(closestVariants(name, 3), ", "))
}

func closestVariants(name string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	var all []scored
	for _, v := range variants {
		all = append(all, scored{v.Name, distance(strings.ToLower(name), strings.ToLower(v.Name))})
	}
	for a := range aliases {
		all = append(all, scored{a, distance(strings.ToLower(name), strings.ToLower(a))})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d || all[i].d == all[j].d && all[i].name < all[j].name })
	var out []string
	for _, s := range all[:n] {
		out = append(out, s.name)
	}
	return out
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

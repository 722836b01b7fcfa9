// Package regions holds the embedded table of Helium frequency plans and
// parses the region names and numbers that miners and gateways report.
//
// It is pure data: no I/O, no calibration. Package configs combines a Plan
// with a chip's calibration profile to render global_conf.json.
package regions

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Hz is a frequency or an offset in hertz.
type Hz int

// MHz formats f in megahertz, e.g. "868.1".
func (f Hz) MHz() string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", float64(f)/1e6), "0"), ".")
}

// Channel is a 125 kHz multi-SF LoRa channel: the radio it listens on and its
// offset (IF) from that radio's centre frequency.
type Channel struct {
	Radio int
	IF    Hz
}

// Std is the single-SF LoRa "standard" channel (250 or 500 kHz wide).
type Std struct {
	Radio     int
	IF        Hz
	Bandwidth Hz
	SF        int
}

// FSK is the FSK channel. No Helium plan enables one today.
type FSK struct {
	Radio     int
	IF        Hz
	Bandwidth Hz
	Datarate  int
}

// Plan is one frequency plan: what a concentrator listens to and may send on.
type Plan struct {
	Name    string
	Radios  [2]Hz // centre frequency of radio_0 and radio_1
	TX      [2]Hz // lowest and highest frequency radio_0 may transmit on
	TXNotch Hz    // TX notch filter frequency, 0 when none (IN865)
	MultiSF []Channel
	Std     *Std // nil when disabled
	FSK     *FSK // nil when disabled
}

// Frequency is the frequency a channel listens on.
func (p Plan) Frequency(c Channel) Hz { return p.Radios[c.Radio] + c.IF }

// Uplinks lists the multi-SF channel frequencies in ascending order.
func (p Plan) Uplinks() []Hz {
	fs := make([]Hz, len(p.MultiSF))
	for i, c := range p.MultiSF {
		fs[i] = p.Frequency(c)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i] < fs[j] })
	return fs
}

// Band names the radio band of the plan, which decides the radio front end
// and so the calibration profile: "433", "470", "868" or "915".
func (p Plan) Band() string {
	switch f := p.Radios[0]; {
	case f < 450_000_000:
		return "433"
	case f < 600_000_000:
		return "470"
	case f < 900_000_000:
		return "868"
	default:
		return "915"
	}
}

var (
	// ErrUnknown means the name or number has no plan in the table.
	ErrUnknown = errors.New("unknown region")
	// ErrNotAsserted means the hotspot has no region yet (enum 99,
	// "UNKNOWN", or gateway-rs's "null"): wait for one, it is not a fault.
	ErrNotAsserted = errors.New("region not asserted yet")
	// ErrEmpty means an empty value, such as a file being written.
	ErrEmpty = errors.New("region is empty")
)

// Lookup returns the plan with that exact name (a sub-plan or an alias).
func Lookup(name string) (Plan, bool) {
	if target, ok := aliases[name]; ok {
		name = target
	}
	for _, p := range plans {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}

// Parse reads a region name as miners write it: "EU868", "eu868",
// "region_eu868", with surrounding white space. Plain names resolve to their
// default sub-plan ("EU868" to EU868_A).
func Parse(s string) (Plan, error) {
	switch n := Normalize(s); {
	case strings.TrimSpace(strings.Trim(s, "\x00")) == "":
		return Plan{}, ErrEmpty
	case n == "UNKNOWN" || n == "NULL" || n == "99":
		return Plan{}, ErrNotAsserted
	case strings.ContainsAny(n, `/\`):
		return Plan{}, unknown(s)
	default:
		if p, ok := Lookup(n); ok {
			return p, nil
		}
		return Plan{}, unknown(s)
	}
}

// Normalize turns a region as miners write it into the table's spelling:
// " region_eu868\n" becomes "EU868". It does not check the name.
func Normalize(s string) string {
	u := strings.ToUpper(strings.TrimSpace(strings.Trim(s, "\x00")))
	return strings.TrimPrefix(u, "REGION_")
}

// ByNumber maps a Helium region enum number, as the gateway reports it.
func ByNumber(n int) (Plan, error) {
	if n == Unknown {
		return Plan{}, ErrNotAsserted
	}
	name, ok := numbers[n]
	if !ok {
		return Plan{}, fmt.Errorf("%w: enum number %d; supported plans: %s", ErrUnknown, n, strings.Join(Names(), ", "))
	}
	p, ok := Lookup(name)
	if !ok {
		return Plan{}, fmt.Errorf("%w: %s (enum number %d) has no plan; supported plans: %s", ErrUnknown, name, n, strings.Join(Names(), ", "))
	}
	return p, nil
}

// EnumName returns the Helium enum name of a number, e.g. 1 → "EU868".
func EnumName(n int) (string, bool) {
	name, ok := numbers[n]
	return name, ok
}

// Number returns the enum number of a plan name or alias, if it has one.
func Number(name string) (int, bool) {
	for n, v := range numbers {
		if v == name {
			return n, true
		}
	}
	return 0, false
}

func unknown(s string) error {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Errorf("%w %q; supported plans: %s", ErrUnknown, s, strings.Join(Names(), ", "))
}

// Plans returns every plan of the table, in table order.
func Plans() []Plan { return append([]Plan(nil), plans...) }

// Names lists every name Parse accepts (without spelling variants), sorted.
func Names() []string {
	names := make([]string, 0, len(plans)+len(aliases))
	for _, p := range plans {
		names = append(names, p.Name)
	}
	for a := range aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	return names
}

// Aliases returns the plain names that resolve to sub-plans, e.g.
// "EU868" → "EU868_A".
func Aliases() map[string]string {
	m := make(map[string]string, len(aliases))
	for k, v := range aliases {
		m[k] = v
	}
	return m
}

package configs

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseEUI validates a gateway ID: 16 hex digits, not all zeros. The
// forwarders silently turn anything else into 0000000000000000, so it is
// checked here. Separators (":" and "-") and a 0x prefix are accepted; the
// result is upper case.
func ParseEUI(s string) (string, error) {
	t := strings.ToUpper(strings.NewReplacer(":", "", "-", "", " ", "").Replace(strings.TrimSpace(s)))
	t = strings.TrimPrefix(t, "0X")
	if len(t) != 16 {
		return "", fmt.Errorf("gateway EUI %q: want 16 hex digits, e.g. AA555A0000000001", s)
	}
	if _, err := strconv.ParseUint(t, 16, 64); err != nil {
		return "", fmt.Errorf("gateway EUI %q: want 16 hex digits, e.g. AA555A0000000001", s)
	}
	if t == strings.Repeat("0", 16) {
		return "", errors.New("gateway EUI is all zeros: set GATEWAY_EUI to the hotspot's own 16 hex digits")
	}
	return t, nil
}

// EUIFromMAC derives a gateway EUI from a 48-bit MAC the usual way (EUI-48
// to EUI-64): FFFE inserted between the OUI and the device half, so
// b8:27:eb:12:34:56 becomes B827EBFFFE123456.
func EUIFromMAC(mac net.HardwareAddr) (string, error) {
	if len(mac) != 6 || mac.String() == "00:00:00:00:00:00" {
		return "", fmt.Errorf("MAC %q is not a 48-bit hardware address", mac)
	}
	eui := fmt.Sprintf("%02X%02X%02XFFFE%02X%02X%02X", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
	return ParseEUI(eui)
}

// EUISource says where the gateway EUI comes from when GATEWAY_EUI is
// unset (docs/hm-pktfwd.md).
type EUISource string

// The EUI sources.
const (
	// SourceMAC is hm-pktfwd's rule, the default: "0000" and the 12 hex
	// digits of the MAC of eth0, else wlan0, so a migrated hotspot keeps
	// its gateway ID.
	SourceMAC EUISource = "mac"
	// SourceChip is the SX1302/SX1303's own EUI, read from the chip.
	SourceChip EUISource = "chip"
	// SourceEUI64 is the MAC of eth0, else wlan0, as an EUI-64 (FFFE in
	// the middle).
	SourceEUI64 EUISource = "eui64"
)

// ParseEUISource reads GATEWAY_EUI_SOURCE; empty is SourceMAC.
func ParseEUISource(s string) (EUISource, error) {
	switch src := EUISource(strings.ToLower(strings.TrimSpace(s))); src {
	case "":
		return SourceMAC, nil
	case SourceMAC, SourceChip, SourceEUI64:
		return src, nil
	}
	return "", fmt.Errorf("GATEWAY_EUI_SOURCE=%q: want mac (hm-pktfwd's 0000 + MAC, the default), chip or eui64", s)
}

// EUIFromMACPadded is hm-pktfwd's gateway ID: "0000" followed by the 12
// hex digits of a 48-bit MAC, so b8:27:eb:12:34:56 becomes
// 0000B827EB123456 (hm-pktfwd wrote the digits in lower case; the
// forwarders read the ID as a number, so it is the same ID).
func EUIFromMACPadded(mac net.HardwareAddr) (string, error) {
	if len(mac) != 6 || mac.String() == "00:00:00:00:00:00" {
		return "", fmt.Errorf("MAC %q is not a 48-bit hardware address", mac)
	}
	return ParseEUI("0000" + hex.EncodeToString(mac))
}

// MACLookup returns the hardware address of a network interface.
type MACLookup func(name string) (net.HardwareAddr, error)

// InterfaceMAC is the MAC of the named interface, as the kernel reports
// it in this network namespace (in a container: the container's eth0, as
// hm-pktfwd saw it).
func InterfaceMAC(name string) (net.HardwareAddr, error) {
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	return iface.HardwareAddr, nil
}

// DefaultEUI picks the gateway EUI when GATEWAY_EUI is unset. chipEUI is
// the concentrator's own EUI, 0 when it offers none (SX1301, USB, or CHIP
// set so it was not probed); ifaces are tried in order (eth0, wlan0).
//
//   - mac: "0000" + the first interface's MAC; with no MAC, the chip's EUI.
//   - eui64: the first interface's MAC as an EUI-64; with no MAC, the chip's EUI.
//   - chip: the chip's EUI; when it offers none, the mac rule.
//
// from says which was used, for the log. Never all zeros.
func DefaultEUI(src EUISource, chipEUI uint64, lookup MACLookup, ifaces []string) (eui, from string, err error) {
	chip := func() (string, string, error) {
		e, err := ParseEUI(fmt.Sprintf("%016X", chipEUI))
		return e, "the concentrator's EUI", err
	}
	if src == SourceChip && chipEUI != 0 {
		return chip()
	}
	derive, rule := EUIFromMACPadded, "0000 + MAC of "
	switch src {
	case SourceEUI64:
		derive, rule = EUIFromMAC, "EUI-64 of the MAC of "
	case SourceChip:
		rule = "the concentrator offers no EUI, so 0000 + MAC of "
	}
	for _, n := range ifaces {
		mac, err := lookup(n)
		if err != nil {
			continue
		}
		if e, err := derive(mac); err == nil {
			return e, rule + n, nil
		}
	}
	if chipEUI != 0 {
		e, from, err := chip()
		return e, from + " (no MAC on " + strings.Join(ifaces, ", ") + ")", err
	}
	return "", "", fmt.Errorf("no gateway EUI: none of %s has a MAC and the concentrator offers no EUI; set GATEWAY_EUI to 16 hex digits",
		strings.Join(ifaces, ", "))
}

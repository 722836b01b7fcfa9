package configs

import (
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

// EUIFromInterfaces derives the EUI from the first of names that exists and
// has a MAC that is not all zeros; it says which one.
func EUIFromInterfaces(names ...string) (eui, from string, err error) {
	for _, n := range names {
		iface, ierr := net.InterfaceByName(n)
		if ierr != nil || len(iface.HardwareAddr) != 6 {
			continue
		}
		if e, err := EUIFromMAC(iface.HardwareAddr); err == nil {
			return e, "MAC of " + n, nil
		}
	}
	return "", "", fmt.Errorf("no gateway EUI: none of %s has a MAC; set GATEWAY_EUI", strings.Join(names, ", "))
}

package configs_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pktfwd/configs"
)

// hmPktfwdID is the gateway ID as hm-pktfwd's local_conf.json template
// wrote it: "0000{{ gateway_id }}" with gateway_id the MAC without colons.
func hmPktfwdID(mac string) string {
	return strings.ToUpper("0000" + strings.ReplaceAll(mac, ":", ""))
}

func fakeMACs(macs map[string]string) configs.MACLookup {
	return func(name string) (net.HardwareAddr, error) {
		m, ok := macs[name]
		if !ok {
			return nil, errors.New("no such network interface")
		}
		return net.ParseMAC(m)
	}
}

func TestDefaultEUI(t *testing.T) {
	const eth0, wlan0, chip = "b8:27:eb:12:34:56", "dc:a6:32:00:00:01", uint64(0x0016C001FF1E2D3C)
	ifaces := []string{"eth0", "wlan0"}
	for _, tc := range []struct {
		name    string
		src     configs.EUISource
		chipEUI uint64
		macs    map[string]string
		want    string
		from    string
	}{
		{"mac: eth0 wins over the chip", configs.SourceMAC, chip, map[string]string{"eth0": eth0, "wlan0": wlan0}, hmPktfwdID(eth0), "eth0"},
		{"mac: wlan0 without eth0", configs.SourceMAC, 0, map[string]string{"wlan0": wlan0}, hmPktfwdID(wlan0), "wlan0"},
		{"mac: eth0 with a zero MAC", configs.SourceMAC, 0, map[string]string{"eth0": "00:00:00:00:00:00", "wlan0": wlan0}, hmPktfwdID(wlan0), "wlan0"},
		{"mac: no MAC, the chip's EUI", configs.SourceMAC, chip, nil, "0016C001FF1E2D3C", "no MAC on eth0, wlan0"},
		{"chip", configs.SourceChip, chip, map[string]string{"eth0": eth0}, "0016C001FF1E2D3C", "concentrator's EUI"},
		{"chip: none offered, the mac rule", configs.SourceChip, 0, map[string]string{"eth0": eth0}, hmPktfwdID(eth0), "offers no EUI"},
		{"eui64", configs.SourceEUI64, chip, map[string]string{"eth0": eth0}, "B827EBFFFE123456", "EUI-64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eui, from, err := configs.DefaultEUI(tc.src, tc.chipEUI, fakeMACs(tc.macs), ifaces)
			if err != nil || eui != tc.want || !strings.Contains(from, tc.from) {
				t.Errorf("got %s from %q, %v; want %s from …%s…", eui, from, err, tc.want, tc.from)
			}
		})
	}
	if _, _, err := configs.DefaultEUI(configs.SourceMAC, 0, fakeMACs(nil), ifaces); err == nil || !strings.Contains(err.Error(), "GATEWAY_EUI") {
		t.Errorf("no MAC and no chip EUI: %v, want an error naming GATEWAY_EUI", err)
	}
}

func TestParseEUISource(t *testing.T) {
	for in, want := range map[string]configs.EUISource{"": configs.SourceMAC, "MAC": configs.SourceMAC, " chip ": configs.SourceChip, "eui64": configs.SourceEUI64} {
		if got, err := configs.ParseEUISource(in); err != nil || got != want {
			t.Errorf("ParseEUISource(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := configs.ParseEUISource("serial"); err == nil || !strings.Contains(err.Error(), "GATEWAY_EUI_SOURCE") {
		t.Errorf("bad source: %v", err)
	}
}

// TestInterfaceMAC reads the MACs where hm-pyhelper read them,
// /sys/class/net/<name>/address, and checks InterfaceMAC agrees.
func TestInterfaceMAC(t *testing.T) {
	files, _ := filepath.Glob("/sys/class/net/*/address")
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		want := strings.TrimSpace(string(b))
		if err != nil || len(want) != 17 || want == "00:00:00:00:00:00" {
			continue
		}
		name := filepath.Base(filepath.Dir(f))
		got, err := configs.InterfaceMAC(name)
		if err != nil || got.String() != want {
			t.Errorf("%s: got %v, %v; /sys says %s", name, got, err, want)
		}
		checked++
	}
	if checked == 0 {
		t.Skip("no network interface with a MAC on this machine")
	}
}

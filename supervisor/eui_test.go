package supervisor_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"pktfwd/concentrator"
)

// TestRun_GatewayEUIKeepsHmPktfwdID: without GATEWAY_EUI the gateway ID is
// hm-pktfwd's 0000 + MAC of eth0, even when the chip offers its own EUI;
// GATEWAY_EUI_SOURCE=chip opts in to the chip's.
func TestRun_GatewayEUIKeepsHmPktfwdID(t *testing.T) {
	for _, tc := range []struct{ source, want string }{
		{"", "0000B827EB123456"}, // "0000" + b8:27:eb:12:34:56 without colons, as hm-pktfwd wrote it
		{"chip", "0016C001FF1E2D3C"},
	} {
		t.Run("source="+tc.source, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.GatewayEUI, h.cfg.GatewayEUISource = "", tc.source
			h.opt.OpenSPI = simSPI(concentrator.NewSimCoreCell(0x12, 0x03, 0x0016C001FF1E2D3C, true))
			h.opt.MAC = func(name string) (net.HardwareAddr, error) {
				if name != "eth0" {
					return nil, errors.New("no such network interface")
				}
				return net.ParseMAC("b8:27:eb:12:34:56")
			}
			h.writeRegion("EU868")
			h.start()
			e, _ := h.wait("running", 0, h.running("EU868_A"))
			if e.GatewayEUI != tc.want || !strings.Contains(h.globalConf(), `"gateway_ID": "`+tc.want+`"`) {
				t.Errorf("status EUI %s, want %s in status and global_conf.json", e.GatewayEUI, tc.want)
			}
		})
	}
}

package supervisor

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/internal/realfwd"
	"pktfwd/regions"
)

// TestClassify_RealForwarders breaks a config the ways the real builds
// know and classifies what each build really prints.
func TestClassify_RealForwarders(t *testing.T) {
	dir := realfwd.Dir(t)
	plan, _ := regions.Parse("EU868")
	site := configs.Site{SPIPath: "/dev/spidev0.0", GatewayID: "AA555A0000000001", Server: "127.0.0.1", PortUp: 1680, PortDown: 1680}
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	}
	cases := []struct {
		name   string
		usb    bool
		global func([]byte) []byte
		files  map[string][]byte // extra files; a nil value removes one
		want   map[bool]string   // CoreCell → cause prefix ("" skips the family)
	}{
		{name: "valid", want: map[bool]string{true: "no concentrator answered", false: "no concentrator answered"}},
		{name: "truncated", global: func(b []byte) []byte { return b[:len(b)/2] },
			want: map[bool]string{true: "global_conf.json is not valid JSON", false: "global_conf.json is not valid JSON"}},
		{name: "no section", global: replace(`_conf": {`, `_conf_gone": {`),
			want: map[bool]string{true: "global_conf.json has no SX130x_conf section", false: "global_conf.json has no SX1301_conf section"}},
		{name: "bad IF", global: replace(`"if": -400000`, `"if": -900000`),
			want: map[bool]string{true: "the HAL refused Lora multi-SF channel 0", false: "the HAL refused Lora multi-SF channel 0"}},
		{name: "no reset script", files: map[string][]byte{"reset_lgw.sh": nil},
			want: map[bool]string{true: "the reset script ./reset_lgw.sh failed"}},
		{name: "server does not resolve", global: replace(`"server_address": "127.0.0.1"`, `"server_address": "multiplexer.invalid"`),
			want: map[bool]string{true: "the server address multiplexer.invalid does not resolve", false: "the server address multiplexer.invalid does not resolve"}},
		{name: "no config file", global: func([]byte) []byte { return nil },
			want: map[bool]string{true: "no config file", false: "no config file"}},
		{name: "USB", usb: true, want: map[bool]string{true: "no USB concentrator at /dev/ttyACM0"}},
	}
	for _, tc := range cases {
		for _, b := range realfwd.Builds {
			want, ok := tc.want[b.CoreCell]
			if !ok {
				continue
			}
			m, s := concentrator.SX1301, site
			if b.CoreCell {
				m = concentrator.SX1302
			}
			if tc.usb {
				if !b.USB {
					want = "wrong forwarder build"
				}
				s.SPIPath, s.USBPath = "", "/dev/ttyACM0"
			}
			fs, err := configs.Render(m, plan, s)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for k, v := range fs {
				files[k] = v
			}
			delete(files, "local_conf.json")
			if tc.global != nil {
				files["global_conf.json"] = tc.global(files["global_conf.json"])
			}
			for k, v := range tc.files {
				files[k] = v
			}
			r, err := realfwd.Run(context.Background(), dir, b, files, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(r.Output), "\n")
			if got := classify(lines); !strings.HasPrefix(got, want) {
				t.Errorf("%s on %s: cause %q, want %q; output ends %q", tc.name, b.Name, got, want, r.Last())
			}
		}
	}
}

package configs_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/regions"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var site = configs.Site{SPIPath: "/dev/spidev0.0", GatewayID: "AA555A0000000001", Server: "127.0.0.1", PortUp: 1680, PortDown: 1680}

type radio struct {
	Enable     bool    `json:"enable"`
	Type       string  `json:"type"`
	Freq       int     `json:"freq"`
	RSSIOffset float64 `json:"rssi_offset"`
	TxEnable   bool    `json:"tx_enable"`
	TxMin      int     `json:"tx_freq_min"`
	TxMax      int     `json:"tx_freq_max"`
	TxGainLUT  []struct {
		RFPower int `json:"rf_power"`
		PAGain  int `json:"pa_gain"`
		PwrIdx  int `json:"pwr_idx"`
	} `json:"tx_gain_lut"`
}

type channel struct {
	Enable    bool `json:"enable"`
	Radio     int  `json:"radio"`
	IF        int  `json:"if"`
	Bandwidth int  `json:"bandwidth"`
	SF        int  `json:"spread_factor"`
}

// parsed reads back the fields both forwarders use from either section.
func parsed(t *testing.T, m concentrator.Model, b []byte) (map[string]json.RawMessage, [2]radio, []int, channel, channel) {
	t.Helper()
	var doc map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	conf := doc["SX1301_conf"]
	if m.CoreCell() {
		conf = doc["SX130x_conf"]
	}
	if conf == nil {
		t.Fatalf("no section for %s in %s", m, b)
	}
	var rs [2]radio
	for i, k := range []string{"radio_0", "radio_1"} {
		if err := json.Unmarshal(conf[k], &rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var freqs []int
	for i := 0; i < 8; i++ {
		var c channel
		if err := json.Unmarshal(conf["chan_multiSF_"+string(rune('0'+i))], &c); err != nil {
			t.Fatal(err)
		}
		if c.Enable {
			freqs = append(freqs, rs[c.Radio].Freq+c.IF)
		}
	}
	sort.Ints(freqs)
	var std, fsk channel
	json.Unmarshal(conf["chan_Lora_std"], &std)
	json.Unmarshal(conf["chan_FSK"], &fsk)
	return conf, rs, freqs, std, fsk
}

// calibration facts of hm-pktfwd's templates per family and band: radio
// type, rssi_offset, and the first and last TX gain entries.
var calibration = map[string]struct {
	radio string
	rssi  float64
}{
	"sx1302/915": {"SX1250", -215.4}, "sx1302/868": {"SX1250", -215.4}, "sx1302/470": {"SX1250", -207}, "sx1302/433": {"SX1250", -207},
	"sx1301/915": {"SX1257", -159}, "sx1301/868": {"SX1257", -158}, "sx1301/470": {"SX1255", -176}, "sx1301/433": {"SX1255", -176},
}

func TestRender_EveryPlanBothFamilies(t *testing.T) {
	for _, m := range []concentrator.Model{concentrator.SX1301, concentrator.SX1302, concentrator.SX1303} {
		for _, p := range regions.Plans() {
			t.Run(string(m)+"/"+p.Name, func(t *testing.T) {
				fs, err := configs.Render(m, p, site)
				if err != nil {
					t.Fatal(err)
				}
				_, rs, freqs, std, fsk := parsed(t, m, fs["global_conf.json"])
				if rs[0].Freq != int(p.Radios[0]) || rs[1].Freq != int(p.Radios[1]) || !rs[0].Enable || !rs[1].Enable {
					t.Errorf("radios %+v", rs)
				}
				var want []int
				for _, u := range p.Uplinks() {
					want = append(want, int(u))
				}
				if !equal(freqs, want) {
					t.Errorf("channels %v, want %v", freqs, want)
				}
				if rs[0].TxMin != int(p.TX[0]) || rs[0].TxMax != int(p.TX[1]) || !rs[0].TxEnable || rs[1].TxEnable {
					t.Errorf("tx: %+v / %+v", rs[0], rs[1])
				}
				if (p.Std != nil) != std.Enable || p.Std != nil && (rs[std.Radio].Freq+std.IF != int(p.Radios[p.Std.Radio]+p.Std.IF) || std.Bandwidth != int(p.Std.Bandwidth) || std.SF != p.Std.SF) {
					t.Errorf("LoRa-std %+v, plan %+v", std, p.Std)
				}
				if fsk.Enable {
					t.Error("FSK enabled")
				}
				family := "sx1301"
				if m.CoreCell() {
					family = "sx1302"
				}
				cal := calibration[family+"/"+p.Band()]
				if rs[0].Type != cal.radio || rs[0].RSSIOffset != cal.rssi || rs[1].RSSIOffset != cal.rssi {
					t.Errorf("calibration %s %v, want %s %v", rs[0].Type, rs[0].RSSIOffset, cal.radio, cal.rssi)
				}
				if m.CoreCell() && len(rs[0].TxGainLUT) != 16 {
					t.Errorf("tx_gain_lut has %d entries", len(rs[0].TxGainLUT))
				}
				if _, ok := fs["local_conf.json"]; ok == m.CoreCell() {
					t.Errorf("local_conf.json present = %v for %s", ok, m)
				}
			})
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRender_SpecificCalibration(t *testing.T) {
	p, _ := regions.Parse("EU868")
	fs, _ := configs.Render(concentrator.SX1302, p, site)
	g := string(fs["global_conf.json"])
	for _, want := range []string{`"rf_power": 26,`, `"pwr_idx": 19`, `"coeff_d": 2162.56`, `"com_type": "SPI"`, `"com_path": "/dev/spidev0.0"`,
		`"spidev_path": "/dev/spidev0.0"`, `"gateway_ID": "AA555A0000000001"`, `"fake_gps": true`, `"server_address": "127.0.0.1"`} {
		if !strings.Contains(g, want) {
			t.Errorf("EU868 SX1302 lacks %s", want)
		}
	}
	in, _ := regions.Parse("IN865")
	fs, _ = configs.Render(concentrator.SX1301, in, site)
	for _, want := range []string{`"tx_notch_freq": 129000`, `"tx_lut_15": {`, `"mix_gain": 14`} {
		if !strings.Contains(string(fs["global_conf.json"]), want) {
			t.Errorf("IN865 SX1301 lacks %s", want)
		}
	}
	eu433, _ := regions.Parse("EU433")
	fs, _ = configs.Render(concentrator.SX1302, eu433, site)
	if !strings.Contains(string(fs["global_conf.json"]), `"single_input_mode": true`) {
		t.Error("EU433 SX1302 lacks single_input_mode")
	}
}

func TestRender_USB(t *testing.T) {
	p, _ := regions.Parse("US915")
	s := site
	s.SPIPath, s.USBPath = "", "/dev/ttyACM0"
	fs, err := configs.Render(concentrator.SX1303, p, s)
	if err != nil {
		t.Fatal(err)
	}
	g := string(fs["global_conf.json"])
	if !strings.Contains(g, `"com_type": "USB"`) || !strings.Contains(g, `"com_path": "/dev/ttyACM0"`) || strings.Contains(g, "spidev_path") {
		t.Errorf("USB config:\n%s", g[:300])
	}
	if _, err := configs.Render(concentrator.SX1301, p, s); err == nil {
		t.Error("SX1301 over USB rendered")
	}
}

func TestRender_Golden(t *testing.T) {
	for _, tc := range []struct{ model, plan string }{{"sx1302", "EU868"}, {"sx1301", "US915"}, {"sx1301", "AS923_1"}} {
		m, _ := concentrator.ParseModel(tc.model)
		p, _ := regions.Parse(tc.plan)
		fs, err := configs.Render(m, p, site)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := configs.Render(m, p, site)
		for name, b := range fs {
			if !bytes.Equal(b, again[name]) {
				t.Errorf("%s is not deterministic", name)
			}
			golden := filepath.Join("testdata", tc.model+"."+tc.plan+"."+name)
			if *update {
				os.WriteFile(golden, b, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./configs -update)", err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("%s differs from %s (run go test ./configs -update after checking)", name, golden)
			}
		}
	}
}

func TestRender_SiteErrors(t *testing.T) {
	p, _ := regions.Parse("EU868")
	for _, s := range []configs.Site{
		{SPIPath: "/dev/spidev0.0", GatewayID: "0000000000000000", Server: "x", PortUp: 1, PortDown: 1},
		{SPIPath: "/dev/spidev0.0", GatewayID: "AA55", Server: "x", PortUp: 1, PortDown: 1},
		{SPIPath: "/dev/spidev0.0", GatewayID: "AA555A0000000001", Server: "x", PortUp: 0, PortDown: 1},
		{GatewayID: "AA555A0000000001", Server: "x", PortUp: 1, PortDown: 1},
	} {
		if _, err := configs.Render(concentrator.SX1302, p, s); err == nil {
			t.Errorf("rendered with %+v", s)
		}
	}
}

func TestTemplate_InjectsSiteAndAcceptsComments(t *testing.T) {
	dir := t.TempDir()
	tmpl := `{
    "SX130x_conf": {
        "spidev_path": "/dev/spidev9.9", /* the maker's bus */
        "radio_0": {"freq": 867500000, "rssi_offset": -210.1} // calibrated
    },
    "gateway_conf": {"gateway_ID": "0000000000000000", "server_address": "localhost", "stat_interval": 60}
}`
	path := filepath.Join(dir, configs.TemplateFile("EU868"))
	if filepath.Base(path) != "global_conf.json.EU868" { // hm-pktfwd's name for a maker's template
		t.Errorf("template file %s", path)
	}
	os.WriteFile(path, []byte(tmpl), 0o644)
	data, _ := os.ReadFile(path)
	fs, err := configs.FromTemplate(path, data, concentrator.SX1302, site)
	if err != nil {
		t.Fatal(err)
	}
	g := string(fs["global_conf.json"])
	for _, want := range []string{`"rssi_offset": -210.1`, `"spidev_path": "/dev/spidev0.0"`, `"gateway_ID": "AA555A0000000001"`, `"stat_interval": 60`, `"serv_port_up": 1680`} {
		if !strings.Contains(g, want) {
			t.Errorf("lacks %s:\n%s", want, g)
		}
	}
}

func TestTemplate_InvalidJSONNamesFileAndLine(t *testing.T) {
	_, err := configs.FromTemplate("/makers/global_conf.json.EU868", []byte("{\n  \"SX130x_conf\": {\n    \"radio_0\": {,}\n}"), concentrator.SX1302, site)
	if err == nil || !strings.Contains(err.Error(), "/makers/global_conf.json.EU868") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("got %v", err)
	}
	_, err = configs.FromTemplate("f", []byte(`{"SX1301_conf": {}}`), concentrator.SX1302, site)
	if err == nil || !strings.Contains(err.Error(), "SX130x_conf") {
		t.Errorf("missing section: %v", err)
	}
}

func TestOverlay(t *testing.T) {
	p, _ := regions.Parse("EU868")
	fs, _ := configs.Render(concentrator.SX1302, p, site)
	out, err := configs.Files(fs).Overlay("GLOBAL_CONF_OVERLAY", []byte(`{"SX130x_conf": {"antenna_gain": 3, "radio_0": {"rssi_offset": -212.5}, "fine_timestamp": null}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, rs, freqs, _, _ := parsed(t, concentrator.SX1302, out["global_conf.json"])
	g := string(out["global_conf.json"])
	if rs[0].RSSIOffset != -212.5 || rs[1].RSSIOffset != -215.4 || !strings.Contains(g, `"antenna_gain": 3`) || strings.Contains(g, "fine_timestamp") || len(freqs) != 8 {
		t.Errorf("overlay result:\n%s", g)
	}
	if _, err := fs.Overlay("GLOBAL_CONF_OVERLAY", []byte(`{"a": }`)); err == nil || !strings.Contains(err.Error(), "GLOBAL_CONF_OVERLAY") || !strings.Contains(err.Error(), "column") {
		t.Errorf("bad overlay: %v", err)
	}
}

func TestEUI(t *testing.T) {
	for in, want := range map[string]string{"aa555a0000000001": "AA555A0000000001", "AA:55:5A:00:00:00:00:01": "AA555A0000000001", "0x0016C001FF10A235": "0016C001FF10A235"} {
		if got, err := configs.ParseEUI(in); err != nil || got != want {
			t.Errorf("ParseEUI(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0000000000000000", "AA555A00000000", "AA555A000000000G", "AA555A00000000011"} {
		if _, err := configs.ParseEUI(bad); err == nil {
			t.Errorf("ParseEUI(%q) accepted", bad)
		}
	}
	mac, _ := net.ParseMAC("b8:27:eb:12:34:56")
	if got, _ := configs.EUIFromMAC(mac); got != "B827EBFFFE123456" {
		t.Errorf("EUIFromMAC = %s", got)
	}
	zero, _ := net.ParseMAC("00:00:00:00:00:00")
	if _, err := configs.EUIFromMAC(zero); err == nil {
		t.Error("zero MAC accepted")
	}
}

func FuzzMergePatch(f *testing.F) {
	f.Add(`{"a":1,"b":{"c":2}}`, `{"b":{"c":null,"d":3}}`)
	f.Add(`{}`, `[1]`)
	f.Fuzz(func(t *testing.T, doc, patch string) {
		var d, p any
		if json.Unmarshal([]byte(doc), &d) != nil || json.Unmarshal([]byte(patch), &p) != nil {
			return
		}
		out := configs.MergePatch(d, p)
		if pm, ok := p.(map[string]any); ok {
			om := out.(map[string]any)
			for k, v := range pm {
				if _, present := om[k]; present == (v == nil) {
					t.Fatalf("key %q: present %v after patch value %v", k, present, v)
				}
			}
		}
	})
}

// FuzzOverlay: an overlay is either refused with an error naming
// GLOBAL_CONF_OVERLAY, or accepted with a config that validates and holds
// exactly the merge: every value the patch sets, none it deletes, and every
// key it does not touch unchanged.
func FuzzOverlay(f *testing.F) {
	f.Add(`{"SX130x_conf":{"antenna_gain":3}}`)
	f.Add(`{"SX130x_conf":{"radio_0":{"rssi_offset":-210.5,"tx_gain_lut":[{"rf_power":27,"pa_gain":1,"pwr_idx":22}]}}}`)
	f.Add(`{"SX130x_conf":{"chan_multiSF_0":{"if":737500}}}`)
	f.Add(`{"SX130x_conf":{"chan_multiSF_0":{"if":737501}}}`)
	f.Add(`{"gateway_conf":{"stat_interval":10,"gateway_ID":"0016C001FF10A235"}}`)
	f.Add(`{"gateway_conf":null}`)
	f.Add(`{,}`)
	f.Add(`[1,2]`)
	p, _ := regions.Parse("EU868")
	fs, _ := configs.Render(concentrator.SX1302, p, site)
	f.Fuzz(func(t *testing.T, patch string) {
		out, err := configs.ApplyOverlay(concentrator.SX1302, fs, "GLOBAL_CONF_OVERLAY", []byte(patch))
		if err != nil {
			if !strings.Contains(err.Error(), "GLOBAL_CONF_OVERLAY") {
				t.Fatalf("error does not name the overlay: %v", err)
			}
			return
		}
		if err := configs.Validate(concentrator.SX1302, out); err != nil {
			t.Fatalf("accepted overlay %q gives an invalid config: %v", patch, err)
		}
		var pv any
		if decodeNumbers([]byte(patch), &pv) != nil {
			return // comments: parsed by configs, not by encoding/json
		}
		var orig, got any
		if err := decodeNumbers(fs["global_conf.json"], &orig); err != nil {
			t.Fatal(err)
		}
		if err := decodeNumbers(out["global_conf.json"], &got); err != nil {
			t.Fatalf("accepted overlay %q gives invalid JSON: %v", patch, err)
		}
		checkMerged(t, "", orig, pv, got)
	})
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// checkMerged checks got = merge(orig, patch) per RFC 7386.
func checkMerged(t *testing.T, path string, orig, patch, got any) {
	t.Helper()
	pm, ok := patch.(map[string]any)
	if !ok {
		if !reflect.DeepEqual(patch, got) {
			t.Fatalf("%s: got %v, the patch sets %v", path, got, patch)
		}
		return
	}
	gm, ok := got.(map[string]any)
	if !ok {
		t.Fatalf("%s: got %v, want an object", path, got)
	}
	om, _ := orig.(map[string]any)
	for k, ov := range om {
		if _, touched := pm[k]; !touched && !reflect.DeepEqual(gm[k], ov) {
			t.Fatalf("%s.%s: untouched key changed from %v to %v", path, k, ov, gm[k])
		}
	}
	for k, pv := range pm {
		gv, present := gm[k]
		if pv == nil {
			if present {
				t.Fatalf("%s.%s: deleted by the patch but still %v", path, k, gv)
			}
			continue
		}
		if !present {
			t.Fatalf("%s.%s: set by the patch but missing", path, k)
		}
		checkMerged(t, path+"."+k, om[k], pv, gv)
	}
}

package configs_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/internal/realfwd"
	"pktfwd/regions"
)

// edgeCase is one edge input for the agreement test: a change to EU868's
// rendered global_conf.json (in the SX130x_conf or SX1301_conf section,
// written "S" in paths), for the families it applies to, and the builds
// where our validation deliberately differs, with the reason.
type edgeCase struct {
	name     string
	families string              // "sx1301", "sx1302" or "" for both
	set      map[string]any      // path → new value; deleted when del
	del      []string            // paths to remove
	raw      func([]byte) []byte // a change to the bytes instead
	differs  map[string]string   // build name → why we differ on purpose
}

var (
	helium105  = "sx1302-helium-1.0.5"
	loranet210 = "sx1302-lora-net-2.1.0"
	sx1301s    = []string{"sx1301-lora-net-4.0.1", "sx1301-helium"}
	sx1302s    = []string{loranet210, helium105}
)

func onAll(builds []string, why string) map[string]string {
	m := map[string]string{}
	for _, b := range builds {
		m[b] = why
	}
	return m
}

const (
	whyNumber  = "the forwarder reads a non-number as 0 and runs with it; we name the field instead"
	whyDefault = "the forwarder silently replaces an unknown value by its default; we name the field instead"
	whyID      = "the forwarder runs with any gateway_ID (sscanf %llx, zero when missing); Helium's gateway refuses the packets, so we name it"
	whyJSON    = "parson's strtod accepts this non-JSON number; no maker writes it, and encoding/json refuses it"
)

var edgeCases = []edgeCase{
	{name: "valid"},
	{name: "multi-SF IF at the SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_multiSF_0.if": 737_500}},
	{name: "multi-SF IF 1 Hz beyond the SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_multiSF_0.if": 737_501}},
	{name: "multi-SF IF at the negative SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_multiSF_7.if": -737_500}},
	{name: "multi-SF IF 1 Hz beyond the negative SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_multiSF_7.if": -737_501}},
	{name: "multi-SF IF at the SX1301 limit", families: "sx1301", set: map[string]any{"S.chan_multiSF_0.if": 400_000}},
	{name: "multi-SF IF 1 Hz beyond the SX1301 limit", families: "sx1301", set: map[string]any{"S.chan_multiSF_0.if": 400_001}},
	{name: "multi-SF IF 1 Hz beyond the negative SX1301 limit", families: "sx1301", set: map[string]any{"S.chan_multiSF_3.if": -400_001}},
	{name: "multi-SF IF fraction truncated to the limit", families: "sx1301", set: map[string]any{"S.chan_multiSF_0.if": 400_000.9}},
	{name: "LoRa-std 250 kHz at the SX1301 limit", families: "sx1301", set: map[string]any{"S.chan_Lora_std.if": 375_000}},
	{name: "LoRa-std 250 kHz 1 Hz beyond the SX1301 limit", families: "sx1301", set: map[string]any{"S.chan_Lora_std.if": 375_001}},
	{name: "LoRa-std 500 kHz at the SX1301 limit", families: "sx1301", set: map[string]any{"S.chan_Lora_std.bandwidth": 500_000, "S.chan_Lora_std.if": -300_000}},
	{name: "LoRa-std 500 kHz 1 Hz beyond the SX1301 limit", families: "sx1301", set: map[string]any{"S.chan_Lora_std.bandwidth": 500_000, "S.chan_Lora_std.if": -300_001}},
	{name: "LoRa-std 250 kHz at the SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_Lora_std.if": 675_000}},
	{name: "LoRa-std 250 kHz 1 Hz beyond the SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_Lora_std.if": 675_001}},
	{name: "LoRa-std 500 kHz 1 Hz beyond the SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_Lora_std.bandwidth": 500_000, "S.chan_Lora_std.if": 550_001}},
	{name: "LoRa-std unknown bandwidth", set: map[string]any{"S.chan_Lora_std.bandwidth": 300_000}, differs: onAll(append(sx1301s, sx1302s...), whyDefault)},
	{name: "LoRa-std SF6 on SX1301", families: "sx1301", set: map[string]any{"S.chan_Lora_std.spread_factor": 6}, differs: onAll(sx1301s, whyDefault)},
	{name: "LoRa-std SF5 on SX1302", families: "sx1302", set: map[string]any{"S.chan_Lora_std.spread_factor": 5}},
	{name: "FSK at the limit", set: map[string]any{"S.chan_FSK": map[string]any{"enable": true, "radio": 1, "if": 337_500, "bandwidth": 125_000, "datarate": 50_000}}, families: "sx1301"},
	{name: "FSK 1 Hz beyond the limit", set: map[string]any{"S.chan_FSK": map[string]any{"enable": true, "radio": 1, "if": 337_501, "bandwidth": 125_000, "datarate": 50_000}}, families: "sx1301"},
	{name: "FSK by deviation 1 Hz beyond the SX1302 limit", families: "sx1302", set: map[string]any{"S.chan_FSK": map[string]any{"enable": true, "radio": 1, "if": 675_001, "freq_deviation": 25_000, "datarate": 50_000}}},
	{name: "channel on radio 2", set: map[string]any{"S.chan_multiSF_1.radio": 2}},
	{name: "channel on a disabled radio", families: "sx1302", set: map[string]any{"S.radio_1.enable": false},
		differs: onAll(sx1302s, "the HAL does not check that a channel's radio is enabled; such channels hear nothing")},
	{name: "disabled radio without type on SX1301", families: "sx1301", set: map[string]any{"S.radio_1": map[string]any{"enable": false}, "S.chan_multiSF_0.radio": 0, "S.chan_multiSF_1.radio": 0, "S.chan_multiSF_2.radio": 0, "S.chan_Lora_std.radio": 0}},
	{name: "radio centre 100 MHz", set: map[string]any{"S.radio_1.freq": 100_000_000, "S.chan_multiSF_0.enable": false, "S.chan_multiSF_1.enable": false, "S.chan_multiSF_2.enable": false, "S.chan_Lora_std.enable": false}},
	{name: "radio centre 1 Hz below 100 MHz", set: map[string]any{"S.radio_1.freq": 99_999_999},
		differs: onAll(sx1301s, "lora_gateway does not check the centre; no SX1255/SX1257 tunes below 100 MHz, so we hold it to sx1302_hal's range")},
	{name: "radio centre 1 GHz", set: map[string]any{"S.radio_0.freq": 1_000_000_000}},
	{name: "radio centre 1 Hz above 1 GHz", set: map[string]any{"S.radio_0.freq": 1_000_000_001},
		differs: onAll(sx1301s, "lora_gateway does not check the centre; we hold it to sx1302_hal's range")},
	{name: "radio centre not a number", set: map[string]any{"S.radio_0.freq": "867500000"}, differs: onAll(sx1301s, whyNumber)},
	{name: "radio without type", del: []string{"S.radio_0.type"}},
	{name: "SX1250 radio on SX1301", families: "sx1301", set: map[string]any{"S.radio_0.type": "SX1250"}},
	{name: "IF not a number", set: map[string]any{"S.chan_multiSF_2.if": "400000"}, differs: onAll(append(sx1301s, sx1302s...), whyNumber)},
	{name: "IF as 1. (strtod)", raw: replaceOnce(`"if": 400000`, `"if": 400000.`), differs: onAll(append(sx1301s, sx1302s...), whyJSON)},
	{name: "no section", del: []string{"S"}},
	{name: "no gateway_conf", del: []string{"gateway_conf"}},
	{name: "zero gateway_ID", set: map[string]any{"gateway_conf.gateway_ID": "0000000000000000"}, differs: onAll(append(sx1301s, sx1302s...), whyID)},
	{name: "short gateway_ID", set: map[string]any{"gateway_conf.gateway_ID": "AA555A"}, differs: onAll(append(sx1301s, sx1302s...), whyID)},
	{name: "no gateway_ID", del: []string{"gateway_conf.gateway_ID"}, differs: onAll(append(sx1301s, sx1302s...), whyID)},
	{name: "stat_interval not a number", set: map[string]any{"gateway_conf.stat_interval": "30"}, differs: onAll(append(sx1301s, sx1302s...), whyNumber)},
	{name: "no com_type", families: "sx1302", del: []string{"S.com_type"},
		differs: map[string]string{helium105: "Helium's fork reads only spidev_path; the config must serve both SX1302 builds"}},
	{name: "no spidev_path", families: "sx1302", del: []string{"S.spidev_path"},
		differs: map[string]string{loranet210: "Lora-net's 2.1.0 reads only com_type/com_path; the config must serve both SX1302 builds"}},
	{name: "sx1250 pwr_idx 22", families: "sx1302", set: map[string]any{"S.radio_0.tx_gain_lut": []any{map[string]any{"rf_power": 27, "pa_gain": 1, "pwr_idx": 22}}}},
	{name: "sx1250 pwr_idx 23", families: "sx1302", set: map[string]any{"S.radio_0.tx_gain_lut": []any{map[string]any{"rf_power": 27, "pa_gain": 1, "pwr_idx": 23}}}},
	{name: "sx1250 LUT of 17 entries", families: "sx1302", set: map[string]any{"S.radio_0.tx_gain_lut": lut17()}},
	{name: "SX1301 mix_gain 7", families: "sx1301", set: map[string]any{"S.tx_lut_0.mix_gain": 7}},
	{name: "SX1301 pa_gain 4", families: "sx1301", set: map[string]any{"S.tx_lut_3.pa_gain": 4}},
	{name: "comments as in maker templates", raw: func(b []byte) []byte {
		s := strings.Replace(string(b), "{", "/* maker: Helium sx1250 */\n{ // global\n", 1)
		return []byte(strings.Replace(s, `"gateway_conf": {`, `"gateway_conf": { /* ids */ // set by pktfwd`, 1))
	}},
	{name: "truncated file", raw: func(b []byte) []byte { return b[:len(b)/2] }},
	{name: "duplicate key", raw: replaceOnce(`"gateway_conf": {`, `"gateway_conf": {"gateway_ID": "AA555A0000000002",`)},
	{name: "trailing garbage", raw: func(b []byte) []byte { return append(b, "garbage"...) },
		differs: onAll(append(sx1301s, sx1302s...), "parson ignores anything after the top-level object; a file with a tail is damaged, so we refuse it")},
	{name: "top-level array", raw: func(b []byte) []byte { return append(append([]byte("["), b...), ']') }},
}

func replaceOnce(old, new string) func([]byte) []byte {
	return func(b []byte) []byte {
		if !bytes.Contains(b, []byte(old)) {
			panic("no " + old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
}

func lut17() []any {
	var l []any
	for i := 0; i < 17; i++ {
		l = append(l, map[string]any{"rf_power": 10 + i, "pa_gain": 1, "pwr_idx": i})
	}
	return l
}

// apply makes the case's global_conf.json from base for section sec.
func (c edgeCase) apply(t *testing.T, base []byte, sec string) []byte {
	t.Helper()
	if c.raw != nil {
		return c.raw(base)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	walk := func(path string) (map[string]any, string) {
		keys := strings.Split(strings.Replace(path, "S", sec, 1), ".")
		o := doc
		for _, k := range keys[:len(keys)-1] {
			o = o[k].(map[string]any)
		}
		return o, keys[len(keys)-1]
	}
	for p, v := range c.set {
		o, k := walk(p)
		o[k] = v
	}
	for _, p := range c.del {
		o, k := walk(p)
		delete(o, k)
	}
	b, err := json.MarshalIndent(doc, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestValidate_AgreesWithRealForwarders runs our validation and each real
// build on the same edge inputs and wants the same verdict, except where
// a case lists a deliberate difference for that build.
func TestValidate_AgreesWithRealForwarders(t *testing.T) {
	t.Parallel()
	dir := realfwd.Dir(t)
	p, _ := regions.Parse("EU868")
	var jobs []realJob
	type verdict struct {
		c   edgeCase
		m   concentrator.Model
		err error
	}
	var ours []verdict
	for _, c := range edgeCases {
		for _, m := range []concentrator.Model{concentrator.SX1301, concentrator.SX1302} {
			if c.families != "" && c.families != string(m) {
				continue
			}
			fs, err := configs.Render(m, p, site)
			if err != nil {
				t.Fatal(err)
			}
			sec := "SX1301_conf"
			if m.CoreCell() {
				sec = "SX130x_conf"
			}
			files := configs.Files{"global_conf.json": c.apply(t, fs["global_conf.json"], sec)}
			err = configs.Validate(m, files)
			for _, b := range buildsFor(m, false) {
				jobs = append(jobs, realJob{c.name, b, files})
				ours = append(ours, verdict{c, m, err})
			}
		}
	}
	results := runReal(t, dir, jobs)
	differences := 0
	for i, r := range results {
		v := ours[i]
		why, deliberate := v.c.differs[r.Build.Name]
		agree := r.Accepted() == (v.err == nil)
		switch {
		case !agree && !deliberate:
			t.Errorf("%s on %s: real build accepted=%v (last line %q), ours: %v", v.c.name, r.Build.Name, r.Accepted(), r.Last(), v.err)
		case agree && deliberate:
			t.Errorf("%s on %s: listed as a deliberate difference (%s) but both say accepted=%v", v.c.name, r.Build.Name, why, r.Accepted())
		case deliberate:
			differences++
			t.Logf("deliberate: %s on %s: real accepted=%v, ours: %v — %s", v.c.name, r.Build.Name, r.Accepted(), v.err, why)
		}
	}
	t.Logf("%d runs, %d deliberate differences", len(results), differences)
}

// TestValidate_Messages: the errors name the file, the field and the range.
func TestValidate_Messages(t *testing.T) {
	p, _ := regions.Parse("EU868")
	fs, _ := configs.Render(concentrator.SX1302, p, site)
	c := edgeCase{set: map[string]any{"S.chan_multiSF_0.if": 737_501, "gateway_conf.gateway_ID": "0000000000000000"}}
	err := configs.Validate(concentrator.SX1302, configs.Files{"global_conf.json": c.apply(t, fs["global_conf.json"], "SX130x_conf")})
	for _, want := range []string{"global_conf.json: SX130x_conf.chan_multiSF_0.if = 737501 Hz", "IF from -737500 to 737500 Hz", "gateway_conf.gateway_ID \"0000000000000000\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

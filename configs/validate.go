package configs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"pktfwd/chips"
)

// Validate checks a configuration the way the forwarder builds for chip
// model m parse it (their config parser and the HAL's lgw_*_setconf checks),
// so that a config they would refuse never reaches them. It is stricter
// than they are where they silently run with a wrong value instead of
// refusing (a non-number read as 0, an unknown bandwidth replaced by a
// default, a zero gateway ID). docs/forwarder-config.md lists every rule,
// where it comes from and each deliberate difference.
//
// f holds global_conf.json and, for the SX1301, optionally local_conf.json.
// The error names the file, the JSON path, the value and the accepted range.
func Validate(m chips.Model, f Files) error {
	g, ok := f["global_conf.json"]
	if !ok {
		return errors.New("no global_conf.json")
	}
	v := validator{m: m, file: "global_conf.json"}
	doc := v.document(g)
	if doc == nil {
		return v.err()
	}
	section := "SX1301_conf"
	if m.CoreCell() {
		section = "SX130x_conf"
	}
	if conf := v.object(doc, "", section, true); conf != nil {
		v.section(conf, section, true)
	}
	ids := 0
	if gw := v.object(doc, "", "gateway_conf", true); gw != nil {
		ids += v.gateway(gw)
	}
	if local, ok := f["local_conf.json"]; ok && !m.CoreCell() {
		l := validator{m: m, file: "local_conf.json"}
		if ldoc := l.document(local); ldoc != nil {
			if conf := l.object(ldoc, "", section, false); conf != nil {
				l.section(conf, section, false)
			}
			if gw := l.object(ldoc, "", "gateway_conf", false); gw != nil {
				ids += l.gateway(gw)
			}
		}
		v.errs = append(v.errs, l.errs...)
	}
	if ids == 0 && len(v.errs) == 0 {
		v.fail("gateway_conf.gateway_ID", "is missing: want the hotspot's 16 hex digits, e.g. AA555A0000000001")
	}
	return v.err()
}

// IF limits: a channel's |IF| + bandwidth/2 must stay within half the radio
// bandwidth the HAL allows for that channel bandwidth (LGW_RF_RX_BANDWIDTH_*
// in lora_gateway 5.0.1 and sx1302_hal 2.1.0 / Helium 1.0.5).
var ifLimit = map[bool]map[int64]int64{
	false: {125_000: 462_500, 250_000: 500_000, 500_000: 550_000}, // SX1301
	true:  {125_000: 800_000, 250_000: 800_000, 500_000: 800_000}, // SX1302 family
}

// Radio centre frequencies the SX1302 HAL accepts (LGW_RF_RX_FREQ_MIN/MAX);
// the SX1301 forwarder does not check them and is held to the same range.
const (
	radioFreqMin = 100_000_000
	radioFreqMax = 1_000_000_000
)

type validator struct {
	m    chips.Model
	file string
	errs []error
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s %s", v.file, path, fmt.Sprintf(format, args...)))
}

func (v *validator) err() error { return errors.Join(v.errs...) }

// document parses data as the forwarders' parser does (comments allowed)
// and wants a JSON object at the top.
func (v *validator) document(data []byte) map[string]any {
	doc, err := decode(v.file, data)
	if err == nil {
		err = duplicateKeys(v.file, stripComments(data))
	}
	if err != nil {
		v.errs = append(v.errs, fmt.Errorf("%w (the forwarder stops with \"%s is not a valid JSON file\")", err, v.file))
		return nil
	}
	if doc == nil {
		v.errs = append(v.errs, fmt.Errorf("%s is null, want a JSON object", v.file))
	}
	return doc
}

// duplicateKeys refuses an object with the same key twice, as the
// forwarders' parser (parson) does; encoding/json would keep the last.
func duplicateKeys(name string, data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys   map[string]bool
		object bool
		expect bool // the next string token is a key
	}
	var stack []frame
	for {
		tok, err := d.Token()
		if err != nil {
			return nil // EOF; syntax errors are decode's to report
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return fmt.Errorf("%s has the key %q twice in one object; the forwarder refuses the file as invalid JSON", name, k)
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
		}
		if top != nil && top.object {
			top.expect = true // a value ends here, or the object closes
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, object: true, expect: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expect = true
			}
		}
	}
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// object returns o[key] when it is an object; absent or not an object is a
// failure when required (the forwarder then says it "does not contain a
// JSON object named" key).
func (v *validator) object(o map[string]any, parent, key string, required bool) map[string]any {
	val, present := o[key]
	m, ok := val.(map[string]any)
	switch {
	case ok:
		return m
	case present:
		v.fail(join(parent, key), "is %s, want a JSON object", kind(val))
	case required:
		v.fail(join(parent, key), "is missing: the forwarder needs this JSON object")
	}
	return nil
}

// number returns o[key] as a float; a present non-number is a failure (the
// forwarders read it as 0), an absent one too when required.
func (v *validator) number(o map[string]any, parent, key string, required bool) (float64, bool) {
	val, present := o[key]
	if !present {
		if required {
			v.fail(join(parent, key), "is missing: want a number")
		}
		return 0, false
	}
	n, ok := val.(json.Number)
	if !ok {
		v.fail(join(parent, key), "is %s, want a number", kind(val))
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) {
		v.fail(join(parent, key), "= %s is out of range", n)
		return 0, false
	}
	return f, true
}

// integer is number within [lo, hi] (the forwarders truncate toward zero).
func (v *validator) integer(o map[string]any, parent, key string, required bool, lo, hi int64) (int64, bool) {
	f, ok := v.number(o, parent, key, required)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		v.fail(join(parent, key), "= %v: want a whole number from %d to %d", f, lo, hi)
		return 0, false
	}
	return int64(f), true
}

// boolean returns o[key]; a present non-boolean is a failure (the forwarders
// read it as false).
func (v *validator) boolean(o map[string]any, parent, key string) bool {
	val, present := o[key]
	b, ok := val.(bool)
	if present && !ok {
		v.fail(join(parent, key), "is %s, want true or false", kind(val))
	}
	return b
}

// str returns o[key] as a string; absent or not a string fails when
// required, a present non-string always.
func (v *validator) str(o map[string]any, parent, key string, required bool) (string, bool) {
	val, present := o[key]
	s, ok := val.(string)
	switch {
	case ok:
		return s, true
	case present:
		v.fail(join(parent, key), "is %s, want a string", kind(val))
	case required:
		v.fail(join(parent, key), "is missing: want a string")
	}
	return "", false
}

func (v *validator) section(conf map[string]any, name string, global bool) {
	if v.m.CoreCell() {
		v.board(conf, name, global)
	}
	v.number(conf, name, "antenna_gain", false)
	v.number(conf, name, "clksrc", false)
	radios := [2]bool{}
	for i := range radios {
		key := fmt.Sprintf("radio_%d", i)
		if r := v.object(conf, name, key, false); r != nil {
			radios[i] = v.radio(r, join(name, key))
		} else if _, present := conf[key]; !present && !global {
			radios[i] = true // local_conf.json keeps the global radio
		}
	}
	if !v.m.CoreCell() {
		v.sx1301LUT(conf, name)
	}
	for i := 0; i < 8; i++ {
		v.channel(conf, name, fmt.Sprintf("chan_multiSF_%d", i), radios)
	}
	v.channel(conf, name, "chan_Lora_std", radios)
	v.channel(conf, name, "chan_FSK", radios)
}

// board: sx1302_hal 2.1.0 needs com_type and com_path, Helium's 1.0.5 needs
// spidev_path for SPI and cannot drive a USB concentrator.
func (v *validator) board(conf map[string]any, name string, global bool) {
	if !global {
		return
	}
	t, ok := v.str(conf, name, "com_type", true)
	usb := false
	if ok {
		switch strings.ToUpper(t) {
		case "SPI":
		case "USB":
			usb = true
		default:
			v.fail(join(name, "com_type"), "= %q: want SPI or USB", t)
		}
	}
	if p, ok := v.str(conf, name, "com_path", true); ok && p == "" {
		v.fail(join(name, "com_path"), "is empty: want the device, e.g. /dev/spidev0.0")
	}
	if !usb {
		if p, ok := v.str(conf, name, "spidev_path", true); ok && p == "" {
			v.fail(join(name, "spidev_path"), "is empty: want the device, e.g. /dev/spidev0.0 (Helium's sx1302_hal reads it)")
		}
	}
}

// radio checks an enabled radio and reports whether it is enabled.
func (v *validator) radio(r map[string]any, path string) bool {
	if !v.boolean(r, path, "enable") {
		if !v.m.CoreCell() {
			// lora_gateway's lgw_rxrf_setconf checks the radio type even
			// for a disabled radio.
			v.radioType(r, path)
		}
		return false
	}
	if f, ok := v.number(r, path, "freq", true); ok && (f < radioFreqMin || f > radioFreqMax) {
		v.fail(join(path, "freq"), "= %v Hz: want a radio centre from 100 MHz to 1 GHz, in Hz", f)
	}
	v.radioType(r, path)
	v.number(r, path, "rssi_offset", false)
	if t := v.object(r, path, "rssi_tcomp", false); t != nil {
		for _, k := range []string{"coeff_a", "coeff_b", "coeff_c", "coeff_d", "coeff_e"} {
			v.number(t, join(path, "rssi_tcomp"), k, false)
		}
	}
	v.boolean(r, path, "single_input_mode")
	if !v.boolean(r, path, "tx_enable") {
		return true
	}
	lo, ok1 := v.number(r, path, "tx_freq_min", true)
	hi, ok2 := v.number(r, path, "tx_freq_max", true)
	if ok1 && ok2 && (lo <= 0 || lo > hi) {
		v.fail(path, "TX range %v to %v Hz: want 0 < tx_freq_min <= tx_freq_max", lo, hi)
	}
	if v.m.CoreCell() {
		v.sx1250LUT(r, path)
	} else {
		v.number(r, path, "tx_notch_freq", false)
	}
	return true
}

func (v *validator) radioType(r map[string]any, path string) {
	types := []string{"SX1255", "SX1257"}
	if v.m.CoreCell() {
		types = append(types, "SX1250")
	}
	t, ok := v.str(r, path, "type", true)
	if !ok {
		return
	}
	for _, want := range types {
		if strings.HasPrefix(t, want) {
			return
		}
	}
	v.fail(join(path, "type"), "= %q: want %s", t, strings.Join(types, ", "))
}

// sx1250LUT checks tx_gain_lut as sx1302_hal's lgw_txgain_setconf does:
// 1 to 16 entries; SX1250 entries (with pwr_idx) want pa_gain 0-3 and
// pwr_idx 0-22, SX125x entries pa_gain, dig_gain, dac_gain 0-3 and
// mix_gain 5-15.
func (v *validator) sx1250LUT(r map[string]any, path string) {
	val, present := r["tx_gain_lut"]
	if !present {
		return
	}
	p := join(path, "tx_gain_lut")
	lut, ok := val.([]any)
	if !ok {
		v.fail(p, "is %s, want an array of gain entries", kind(val))
		return
	}
	if len(lut) > 16 {
		v.fail(p, "has %d entries: the HAL takes at most 16", len(lut))
		return
	}
	sx1250 := false
	if len(lut) > 0 {
		first, _ := lut[0].(map[string]any)
		_, sx1250 = first["pwr_idx"]
	}
	for i, e := range lut {
		ep := fmt.Sprintf("%s[%d]", p, i)
		o, ok := e.(map[string]any)
		if !ok {
			v.fail(ep, "is %s, want an object", kind(e))
			continue
		}
		v.integer(o, ep, "rf_power", true, -128, 127)
		v.integer(o, ep, "pa_gain", true, 0, 3)
		if sx1250 {
			v.integer(o, ep, "pwr_idx", true, 0, 22)
			continue
		}
		v.integer(o, ep, "dig_gain", true, 0, 3)
		v.integer(o, ep, "dac_gain", false, 0, 3)
		v.integer(o, ep, "mix_gain", true, 5, 15)
	}
}

// sx1301LUT checks tx_lut_0 … tx_lut_15 as lora_gateway's
// lgw_txgain_setconf does: pa_gain and dig_gain 0-3, dac_gain 3, mix_gain
// 8-15.
func (v *validator) sx1301LUT(conf map[string]any, name string) {
	for i := 0; i < 16; i++ {
		key := fmt.Sprintf("tx_lut_%d", i)
		o := v.object(conf, name, key, false)
		if o == nil {
			continue
		}
		p := join(name, key)
		v.integer(o, p, "rf_power", true, -128, 127)
		v.integer(o, p, "pa_gain", true, 0, 3)
		v.integer(o, p, "dig_gain", true, 0, 3)
		v.integer(o, p, "dac_gain", false, 3, 3)
		v.integer(o, p, "mix_gain", true, 8, 15)
	}
}

// channel checks an enabled multi-SF, LoRa-std or FSK channel: its radio,
// its bandwidth and spreading factor or datarate, and its IF against the
// HAL's limit for that bandwidth.
func (v *validator) channel(conf map[string]any, name, key string, radios [2]bool) {
	c := v.object(conf, name, key, false)
	if c == nil || !v.boolean(c, join(name, key), "enable") {
		return
	}
	path := join(name, key)
	if r, ok := v.integer(c, path, "radio", true, 0, 1); ok && !radios[r] {
		v.fail(join(path, "radio"), "= %d, but radio_%d is not enabled: the channel would hear nothing", r, r)
	}
	bw := int64(125_000)
	switch key {
	case "chan_Lora_std":
		bw = v.loraStd(c, path)
	case "chan_FSK":
		bw = v.fsk(c, path)
	}
	f, ok := v.number(c, path, "if", true)
	if !ok || bw == 0 {
		return
	}
	limit := ifLimit[v.m.CoreCell()][max(bw, 125_000)] // narrower FSK channels use the 125 kHz limit
	if edge := math.Abs(math.Trunc(f)) + float64(bw/2); edge > float64(limit) {
		v.fail(join(path, "if"), "= %v Hz: with a %d kHz channel the %s HAL wants |IF| + %v kHz within %v kHz, so IF from %d to %d Hz",
			f, bw/1000, strings.ToUpper(string(v.family())), float64(bw)/2000, float64(limit)/1000, -(limit - bw/2), limit-bw/2)
	}
}

func (v *validator) family() chips.Model {
	if v.m.CoreCell() {
		return chips.SX1302
	}
	return chips.SX1301
}

// loraStd wants a LoRa bandwidth and spreading factor (SF7-12 on SX1301,
// SF5-12 on the SX1302 family); the forwarders would silently substitute
// 250 kHz or a default SF for any other value.
func (v *validator) loraStd(c map[string]any, path string) int64 {
	bw, ok := v.integer(c, path, "bandwidth", true, 0, 500_000)
	if ok && bw != 125_000 && bw != 250_000 && bw != 500_000 {
		v.fail(join(path, "bandwidth"), "= %d: want 125000, 250000 or 500000", bw)
		ok = false
	}
	minSF := int64(7)
	if v.m.CoreCell() {
		minSF = 5
	}
	v.integer(c, path, "spread_factor", true, minSF, 12)
	if !ok {
		return 0
	}
	return bw
}

// fsk returns the channel bandwidth the HAL derives: bandwidth, else
// 2 × freq_deviation + datarate, rounded up to a bandwidth the chip has.
func (v *validator) fsk(c map[string]any, path string) int64 {
	dr, _ := v.integer(c, path, "datarate", true, 500, 250_000)
	bw, ok := v.integer(c, path, "bandwidth", false, 0, 500_000)
	if !ok {
		fdev, ok := v.integer(c, path, "freq_deviation", false, 0, 250_000)
		if !ok {
			v.fail(path, "has neither bandwidth nor freq_deviation")
			return 0
		}
		bw = 2*fdev + dr
	}
	steps := []int64{125_000, 250_000, 500_000}
	if !v.m.CoreCell() {
		steps = []int64{7_800, 15_600, 31_200, 62_500, 125_000, 250_000, 500_000}
	}
	i := sort.Search(len(steps), func(i int) bool { return steps[i] >= bw })
	if bw <= 0 || i == len(steps) {
		v.fail(path, "bandwidth %d Hz: want up to 500000 Hz", bw)
		return 0
	}
	return steps[i]
}

// gateway checks gateway_conf and returns 1 when it holds a gateway_ID.
func (v *validator) gateway(gw map[string]any) int {
	const p = "gateway_conf"
	ids := 0
	if id, ok := v.str(gw, p, "gateway_ID", false); ok {
		ids = 1
		if _, err := ParseEUI(id); err != nil {
			v.fail(join(p, "gateway_ID"), "%q: want 16 hex digits, not all zero (the forwarder would silently use %q)", id, sscanfHex(id))
		}
	}
	if s, ok := v.str(gw, p, "server_address", false); ok && strings.TrimSpace(s) == "" {
		v.fail(join(p, "server_address"), "is empty: want a host name or address")
	}
	v.integer(gw, p, "serv_port_up", false, 1, 65535)
	v.integer(gw, p, "serv_port_down", false, 1, 65535)
	v.integer(gw, p, "keepalive_interval", false, 1, 3600)
	v.integer(gw, p, "stat_interval", false, 1, 86400)
	v.integer(gw, p, "push_timeout_ms", false, 1, 60_000)
	for _, k := range []string{"ref_latitude", "ref_longitude", "ref_altitude"} {
		v.number(gw, p, k, false)
	}
	for _, k := range []string{"forward_crc_valid", "forward_crc_error", "forward_crc_disabled", "fake_gps"} {
		v.boolean(gw, p, k)
	}
	return ids
}

// sscanfHex is what the forwarders' sscanf("%llx") makes of a gateway ID.
func sscanfHex(s string) string {
	var n uint64
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	for _, c := range t {
		d := strings.IndexRune("0123456789abcdef", c|0x20)
		if d < 0 || n > math.MaxUint64>>4 {
			break
		}
		n = n<<4 | uint64(d)
	}
	return fmt.Sprintf("%016X", n)
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// ApplyOverlay applies an overlay (GLOBAL_CONF_OVERLAY, an RFC 7386 merge
// patch) to f and validates the result for chip model m. Every error names
// the overlay by name: an overlay that would break the config is refused
// as a whole, so the caller keeps the last good config.
func ApplyOverlay(m chips.Model, f Files, name string, patch []byte) (Files, error) {
	if p, err := decode(name, patch); err == nil && p == nil {
		return nil, fmt.Errorf("%s is null: want a JSON object, a merge patch of global_conf.json such as {\"SX130x_conf\":{\"antenna_gain\":3}}", name)
	}
	out, err := f.Overlay(name, patch)
	if err != nil {
		return nil, err
	}
	if err := Validate(m, out); err != nil {
		return nil, fmt.Errorf("%s would make the forwarder's config invalid, so it is not applied: %w", name, err)
	}
	return out, nil
}

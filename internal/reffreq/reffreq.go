// Package reffreq reads the reference frequency table that tests check the
// plan table, rendered configs and golden files against:
// regions/testdata/reference-frequencies.tsv, derived from hm-pktfwd's
// regional templates (its README says how).
package reffreq

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Facts are the frequency facts of one template or config, in Hz, written
// as the table writes them.
type Facts struct {
	Radios  string // "867500000 868500000"
	TX      string // "863000000-870000000" (radio_0)
	Uplinks string // enabled multi-SF channels, ascending
	Std     string // "868300000/250000/SF7", "-" when disabled
	FSK     string // "freq/bandwidth/datarate", "-" when disabled
}

// Row is one template: its chip family ("sx1301", "sx1302") and plan name.
type Row struct {
	Family, Plan string
	Facts
}

// Deviations are where pktfwd's plans differ from the templates on
// purpose: "family/plan/field" → why.
var Deviations = map[string]string{
	"sx1301/EU433/Radios": "the template's radio_0 (434.375 MHz) puts two channels beyond the HAL's IF limit; the same channels fit with radio_0 at 433.275 MHz",
	"sx1302/EU433/Radios": "the template's radio_0 (434.375 MHz) puts two channels beyond the HAL's IF limit; the same channels fit with radio_0 at 433.275 MHz",
	"sx1301/CN470/Std":    "hm-pktfwd's SX1301 and SX1302 templates disagree; pktfwd follows the SX1302 one and Helium's sx1250 file",
	"sx1301/CN470_A/Std":  "hm-pktfwd's SX1301 and SX1302 templates disagree; pktfwd follows the SX1302 one and Helium's sx1250 file",
}

// Load reads the table.
func Load(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 7 {
			return nil, fmt.Errorf("%s:%d: %d columns, want 7", path, n, len(c))
		}
		rows = append(rows, Row{c[0], c[1], Facts{c[2], c[3], c[4], c[5], c[6]}})
	}
	return rows, sc.Err()
}

// Diff lists the fields where got differs from the row, except the
// deviations listed for it.
func (r Row) Diff(got Facts) []string {
	var out []string
	for _, f := range []struct{ name, want, got string }{
		{"Radios", r.Radios, got.Radios}, {"TX", r.TX, got.TX}, {"Uplinks", r.Uplinks, got.Uplinks},
		{"Std", r.Std, got.Std}, {"FSK", r.FSK, got.FSK},
	} {
		if f.want != f.got && Deviations[r.Family+"/"+r.Plan+"/"+f.name] == "" {
			out = append(out, fmt.Sprintf("%s: got %q, want %q", f.name, f.got, f.want))
		}
	}
	return out
}

// FromConfig reads the facts from a rendered global_conf.json the way the
// table was derived from the templates.
func FromConfig(global []byte) (Facts, error) {
	type channel struct {
		Enable    bool `json:"enable"`
		Radio     int  `json:"radio"`
		IF        int  `json:"if"`
		Bandwidth int  `json:"bandwidth"`
		SF        int  `json:"spread_factor"`
		Datarate  int  `json:"datarate"`
	}
	type radio struct {
		Freq  int `json:"freq"`
		TXMin int `json:"tx_freq_min"`
		TXMax int `json:"tx_freq_max"`
	}
	var doc map[string]map[string]json.RawMessage
	if err := json.Unmarshal(global, &doc); err != nil {
		return Facts{}, err
	}
	conf := doc["SX130x_conf"]
	if conf == nil {
		conf = doc["SX1301_conf"]
	}
	var r [2]radio
	for i := range r {
		if err := json.Unmarshal(conf[fmt.Sprintf("radio_%d", i)], &r[i]); err != nil {
			return Facts{}, fmt.Errorf("radio_%d: %w", i, err)
		}
	}
	var ups []int
	for i := 0; i < 8; i++ {
		var c channel
		if raw, ok := conf[fmt.Sprintf("chan_multiSF_%d", i)]; ok {
			if err := json.Unmarshal(raw, &c); err != nil {
				return Facts{}, err
			}
		}
		if c.Enable {
			ups = append(ups, r[c.Radio].Freq+c.IF)
		}
	}
	sort.Ints(ups)
	up := make([]string, len(ups))
	for i, u := range ups {
		up[i] = strconv.Itoa(u)
	}
	var std, fsk channel
	json.Unmarshal(conf["chan_Lora_std"], &std)
	json.Unmarshal(conf["chan_FSK"], &fsk)
	f := Facts{
		Radios:  fmt.Sprintf("%d %d", r[0].Freq, r[1].Freq),
		TX:      fmt.Sprintf("%d-%d", r[0].TXMin, r[0].TXMax),
		Uplinks: strings.Join(up, " "),
		Std:     "-", FSK: "-",
	}
	if std.Enable {
		f.Std = fmt.Sprintf("%d/%d/SF%d", r[std.Radio].Freq+std.IF, std.Bandwidth, std.SF)
	}
	if fsk.Enable {
		f.FSK = fmt.Sprintf("%d/%d/%d", r[fsk.Radio].Freq+fsk.IF, fsk.Bandwidth, fsk.Datarate)
	}
	return f, nil
}

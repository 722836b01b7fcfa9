package regions_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"pktfwd/internal/reffreq"
	"pktfwd/regions"
)

// referenceTable is derived from hm-pktfwd's regional templates (see
// testdata/README.md), never from this package.
const referenceTable = "testdata/reference-frequencies.tsv"

func planFacts(p regions.Plan) reffreq.Facts {
	ups := make([]string, 0, len(p.MultiSF))
	for _, u := range p.Uplinks() {
		ups = append(ups, strconv.Itoa(int(u)))
	}
	f := reffreq.Facts{
		Radios:  fmt.Sprintf("%d %d", p.Radios[0], p.Radios[1]),
		TX:      fmt.Sprintf("%d-%d", p.TX[0], p.TX[1]),
		Uplinks: strings.Join(ups, " "),
		Std:     "-", FSK: "-",
	}
	if c := p.Std; c != nil {
		f.Std = fmt.Sprintf("%d/%d/SF%d", p.Radios[c.Radio]+c.IF, c.Bandwidth, c.SF)
	}
	if c := p.FSK; c != nil {
		f.FSK = fmt.Sprintf("%d/%d/%d", p.Radios[c.Radio]+c.IF, c.Bandwidth, c.Datarate)
	}
	return f
}

// Every template of both families against the plan of the same name:
// radio centres, TX range, each channel's absolute frequency, LoRa-std
// and FSK.
func TestPlans_MatchReferenceFrequencies(t *testing.T) {
	rows, err := reffreq.Load(referenceTable)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		p, err := regions.Parse(r.Plan)
		if err != nil {
			t.Errorf("%s/%s: %v", r.Family, r.Plan, err)
			continue
		}
		for _, d := range r.Diff(planFacts(p)) {
			t.Errorf("%s/%s (plan %s): %s", r.Family, r.Plan, p.Name, d)
		}
	}
}

func TestPlans_EveryTableNameHasFacts(t *testing.T) {
	rows, err := reffreq.Load(referenceTable)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range rows {
		have[r.Family+"/"+r.Plan] = true
	}
	for _, n := range regions.Names() {
		for _, fam := range []string{"sx1301", "sx1302"} {
			if !have[fam+"/"+n] {
				t.Errorf("plan %s has no %s row in %s", n, fam, referenceTable)
			}
		}
	}
	if len(rows) != 2*len(regions.Names()) {
		t.Errorf("%d rows for %d names in two families", len(rows), len(regions.Names()))
	}
}

// The HALs' IF limits (docs/forwarder-config.md): the SX1301 wants
// |IF| + bw/2 within 462.5 kHz (125 kHz), 500 kHz (250 kHz) or 550 kHz
// (500 kHz channels); the SX1302 within 800 kHz.
func TestPlans_RespectHALLimits(t *testing.T) {
	sx1301 := map[regions.Hz]regions.Hz{125_000: 462_500, 250_000: 500_000, 500_000: 550_000}
	check := func(t *testing.T, what string, ifreq, bw regions.Hz) {
		edge := abs(ifreq) + bw/2
		if edge > sx1301[bw] {
			t.Errorf("%s: |IF|+bw/2 = %d Hz exceeds the SX1301 limit %d", what, edge, sx1301[bw])
		}
		if edge > 800_000 {
			t.Errorf("%s: |IF|+bw/2 = %d Hz exceeds the SX1302 limit 800000", what, edge)
		}
	}
	for _, p := range regions.Plans() {
		t.Run(p.Name, func(t *testing.T) {
			if len(p.MultiSF) == 0 || len(p.MultiSF) > 8 {
				t.Fatalf("%d multi-SF channels, want 1 to 8", len(p.MultiSF))
			}
			for i, c := range p.MultiSF {
				if c.Radio != 0 && c.Radio != 1 {
					t.Errorf("channel %d on radio %d", i, c.Radio)
				}
				check(t, "multi-SF channel "+p.Frequency(c).MHz(), c.IF, 125_000)
			}
			if p.Std != nil {
				check(t, "LoRa-std channel", p.Std.IF, p.Std.Bandwidth)
			}
			if p.TX[0] >= p.TX[1] {
				t.Errorf("TX range %v is empty", p.TX)
			}
		})
	}
}

func abs(f regions.Hz) regions.Hz {
	if f < 0 {
		return -f
	}
	return f
}

package regions_test

import (
	"fmt"
	"strings"
	"testing"

	"pktfwd/regions"
)

// planFacts are the frequencies of hm-pktfwd's templates, in MHz, written out
// by hand-checkable text: radio centres, TX range, sorted uplink channels and
// the LoRa-std channel (frequency/bandwidth kHz/SF, "" when disabled).
var planFacts = []struct {
	name, radios, tx, uplinks, std string
}{
	{"AS923", "923.5 924.3", "915-928", "923.2 923.4 923.6 923.8 924 924.2 924.4 924.6", "923.8/500/SF8"},
	{"AS923_1", "923.5 924.3", "915-928", "923.2 923.4 923.6 923.8 924 924.2 924.4 924.6", "923.8/500/SF8"},
	{"AS923_1A", "923.5 924.3", "915-928", "923.2 923.4 923.6 923.8 924 924.2 924.4 924.6", "923.8/500/SF8"},
	{"AS923_1B", "922.3 923.1", "915-928", "922 922.2 922.4 922.6 922.8 923 923.2 923.4", "922.6/500/SF8"},
	{"AS923_1C", "923.5 924.3", "915-928", "923.2 923.4 923.6 923.8 924 924.2 924.4 924.6", "923.8/500/SF8"},
	{"AS923_1D", "923.5 924.3", "915-928", "923.2 923.4 923.6 923.8 924 924.2 924.4 924.6", "923.8/500/SF8"},
	{"AS923_1E", "923.5 924.3", "915-928", "923.2 923.4 923.6 923.8 924 924.2 924.4 924.6", "923.8/500/SF8"},
	{"AS923_1F", "923.5 924.3", "915-928", "923.2 923.4 923.6 923.8 924 924.2 924.4 924.6", "923.8/500/SF8"},
	{"AS923_2", "921.7 922.5", "920-923", "921.4 921.6 921.8 922 922.2 922.4 922.6 922.8", "922/500/SF8"},
	{"AS923_2A", "921.7 922.5", "920-923", "921.4 921.6 921.8 922 922.2 922.4 922.6 922.8", "922/500/SF8"},
	{"AS923_3", "916.9 917.7", "915-921", "916.6 916.8 917 917.2 917.4 917.6 917.8 918", "917.2/500/SF8"},
	{"AS923_3A", "916.9 917.7", "915-921", "916.6 916.8 917 917.2 917.4 917.6 917.8 918", "917.2/500/SF8"},
	{"AS923_4", "917.6 918.4", "917-920", "917.3 917.5 917.7 917.9 918.1 918.3 918.5 918.7", "917.9/500/SF8"},
	{"AS923_4A", "917.6 918.4", "917-920", "917.3 917.5 917.7 917.9 918.1 918.3 918.5 918.7", "917.9/500/SF8"},
	{"AU915", "917.2 917.9", "916.7-927.6", "916.8 917 917.2 917.4 917.6 917.8 918 918.2", "917.5/500/SF8"},
	{"AU915_SB1", "915.6 916.3", "915-927.6", "915.2 915.4 915.6 915.8 916 916.2 916.4 916.6", "915.9/500/SF8"},
	{"AU915_SB2", "917.2 917.9", "916.7-927.6", "916.8 917 917.2 917.4 917.6 917.8 918 918.2", "917.5/500/SF8"},
	{"CN470", "486.6 487.4", "486.29-510", "486.3 486.5 486.7 486.9 487.1 487.3 487.5 487.7", "487.2/250/SF7"},
	{"CN470_A", "486.6 487.4", "486.29-510", "486.3 486.5 486.7 486.9 487.1 487.3 487.5 487.7", "487.2/250/SF7"},
	// The template's radio_0 (434.375) puts channels out of IF range; the
	// channel frequencies are the template's.
	{"EU433", "433.275 433.575", "433.05-434.9", "433.175 433.375 433.575", ""},
	{"EU868", "867.5 868.5", "863-870", "867.1 867.3 867.5 867.7 867.9 868.1 868.3 868.5", "868.3/250/SF7"},
	{"EU868_A", "867.5 868.5", "863-870", "867.1 867.3 867.5 867.7 867.9 868.1 868.3 868.5", "868.3/250/SF7"},
	{"EU868_B", "867.5 868.5", "863-870", "867.1 867.3 867.5 867.7 867.9 868.1 868.3 868.5", "868.3/250/SF7"},
	{"EU868_C", "867.5 868.5", "863-870", "867.1 867.3 867.5 867.7 867.9 868.1 868.3 868.5", "868.3/250/SF7"},
	{"EU868_D", "867.5 868.5", "863-870", "867.1 867.3 867.5 867.7 867.9 868.1 868.3 868.5", "868.3/250/SF7"},
	{"EU868_E", "867.5 868.5", "863-870", "867.1 867.3 867.5 867.7 867.9 868.1 868.3 868.5", "868.3/250/SF7"},
	{"EU868_F", "867.5 868.5", "863-870", "867.1 867.3 867.5 867.7 867.9 868.1 868.3 868.5", "868.3/250/SF7"},
	{"IN865", "865.2 866.385", "865-867", "865.0625 865.4025 865.985", ""},
	{"IN865_A", "865.2 866.385", "865-867", "865.0625 865.4025 865.985", ""},
	{"KR920", "922.4 923", "920.9-923.3", "922.1 922.3 922.5 922.7 922.9 923.1 923.3", ""},
	{"KR920_A", "922.4 923", "920.9-923.3", "922.1 922.3 922.5 922.7 922.9 923.1 923.3", ""},
	{"RU864", "864.5 869", "863-870", "864.1 864.3 864.5 864.7 864.9 868.9 869.1", ""},
	{"RU864_A", "864.5 869", "863-870", "864.1 864.3 864.5 864.7 864.9 868.9 869.1", ""},
	{"US915", "904.3 905", "902-928", "903.9 904.1 904.3 904.5 904.7 904.9 905.1 905.3", "904.6/500/SF8"},
	{"US915_SB2", "904.3 905", "902-928", "903.9 904.1 904.3 904.5 904.7 904.9 905.1 905.3", "904.6/500/SF8"},
}

func TestPlans_MatchReferenceFrequencies(t *testing.T) {
	for _, f := range planFacts {
		t.Run(f.name, func(t *testing.T) {
			p, err := regions.Parse(f.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Radios[0].MHz() + " " + p.Radios[1].MHz(); got != f.radios {
				t.Errorf("radios: got %s, want %s", got, f.radios)
			}
			if got := p.TX[0].MHz() + "-" + p.TX[1].MHz(); got != f.tx {
				t.Errorf("tx range: got %s, want %s", got, f.tx)
			}
			var ups []string
			for _, u := range p.Uplinks() {
				ups = append(ups, u.MHz())
			}
			if got := strings.Join(ups, " "); got != f.uplinks {
				t.Errorf("uplinks: got %s, want %s", got, f.uplinks)
			}
			if got := stdFact(p); got != f.std {
				t.Errorf("LoRa-std: got %q, want %q", got, f.std)
			}
			if p.FSK != nil {
				t.Errorf("FSK channel enabled; every reference template disables it")
			}
		})
	}
}

func stdFact(p regions.Plan) string {
	if p.Std == nil {
		return ""
	}
	return fmt.Sprintf("%s/%d/SF%d", (p.Radios[p.Std.Radio] + p.Std.IF).MHz(), p.Std.Bandwidth/1000, p.Std.SF)
}

func TestPlans_EveryTableNameHasFacts(t *testing.T) {
	have := map[string]bool{}
	for _, f := range planFacts {
		have[f.name] = true
	}
	for _, n := range regions.Names() {
		if !have[n] {
			t.Errorf("plan %s has no row in planFacts", n)
		}
	}
	if len(regions.Names()) != len(planFacts) {
		t.Errorf("got %d names, %d fact rows", len(regions.Names()), len(planFacts))
	}
}

// The HALs' IF limits (docs/forwarder-config.md, "Rules"): the SX1301 wants
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

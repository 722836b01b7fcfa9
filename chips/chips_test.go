package chips_test

import (
	"testing"

	"pktfwd/chips"
)

func TestParseModel(t *testing.T) {
	for in, want := range map[string]chips.Model{"sx1301": chips.SX1301, " SX1302\n": chips.SX1302, "Sx1303": chips.SX1303} {
		if got, err := chips.ParseModel(in); err != nil || got != want {
			t.Errorf("ParseModel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "auto", "sx1304", "sx130"} {
		if _, err := chips.ParseModel(bad); err == nil {
			t.Errorf("ParseModel(%q) accepted", bad)
		}
	}
	if chips.SX1301.CoreCell() || !chips.SX1302.CoreCell() || !chips.SX1303.CoreCell() {
		t.Error("CoreCell: want the SX1302 and SX1303 only")
	}
}

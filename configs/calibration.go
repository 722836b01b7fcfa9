package configs

import "pktfwd/chips"

// Profile is the hardware calibration of a concentrator's radios, kept apart
// from the frequency plan: a maker can adopt a new plan and keep its own
// calibration (override it with GLOBAL_CONF_OVERLAY).
type Profile struct {
	Name            string
	Radio           string  // SX1250, SX1257 or SX1255
	RSSIOffset      float64 // both radios
	RSSITComp       *RSSITComp
	SingleInputMode bool         // SX1250 on 433 MHz boards
	TxGainLUT       []SX1250Gain // SX1302 family
	TxLUT           []SX1301Gain // SX1301
}

// RSSITComp is the SX1250 RSSI temperature compensation.
type RSSITComp struct{ A, B, C, D, E float64 }

// SX1250Gain is one tx_gain_lut entry of the SX1302 HAL.
type SX1250Gain struct{ RFPower, PAGain, PwrIdx int }

// SX1301Gain is one tx_lut_N entry of the SX1301 HAL.
type SX1301Gain struct{ PAGain, MixGain, RFPower, DigGain int }

// ProfileFor picks the calibration of hm-pktfwd's templates for a chip
// family and a plan's band ("433", "470", "868", "915").
func ProfileFor(m chips.Model, band string) Profile {
	if m.CoreCell() {
		switch band {
		case "433":
			return Profile{Name: "sx1250-433", Radio: "SX1250", RSSIOffset: -207, RSSITComp: &sx1250TComp, SingleInputMode: true, TxGainLUT: sx1250LUT433}
		case "470":
			return Profile{Name: "sx1250-470", Radio: "SX1250", RSSIOffset: -207, RSSITComp: &sx1250TComp, TxGainLUT: sx1250LUT470}
		}
		return Profile{Name: "sx1250", Radio: "SX1250", RSSIOffset: -215.4, RSSITComp: &sx1250TComp, TxGainLUT: sx1250LUT}
	}
	switch band {
	case "433":
		return Profile{Name: "sx1255-433", Radio: "SX1255", RSSIOffset: -176, TxLUT: sx1301LUT433}
	case "470":
		return Profile{Name: "sx1255-470", Radio: "SX1255", RSSIOffset: -176, TxLUT: sx1301LUT}
	case "868":
		return Profile{Name: "sx1257-868", Radio: "SX1257", RSSIOffset: -158, TxLUT: sx1301LUT}
	}
	return Profile{Name: "sx1257-915", Radio: "SX1257", RSSIOffset: -159, TxLUT: sx1301LUT}
}

var sx1250TComp = RSSITComp{0, 0, 20.41, 2162.56, 0}

var sx1250LUT = []SX1250Gain{
	{12, 1, 4}, {13, 1, 5}, {14, 1, 6}, {15, 1, 7}, {16, 1, 8}, {17, 1, 9}, {18, 1, 10}, {19, 1, 11},
	{20, 1, 12}, {21, 1, 13}, {22, 1, 14}, {23, 1, 15}, {24, 1, 16}, {25, 1, 17}, {26, 1, 19}, {27, 1, 20},
}

var sx1250LUT470 = []SX1250Gain{
	{12, 0, 15}, {13, 0, 16}, {14, 0, 17}, {15, 0, 19}, {16, 0, 20}, {17, 0, 22}, {18, 1, 1}, {19, 1, 2},
	{20, 1, 3}, {21, 1, 4}, {22, 1, 5}, {23, 1, 6}, {24, 1, 7}, {25, 1, 9}, {26, 1, 11}, {27, 1, 14},
}

var sx1250LUT433 = []SX1250Gain{
	{-6, 0, 0}, {-3, 0, 1}, {0, 0, 2}, {3, 1, 3}, {6, 1, 4}, {10, 1, 5}, {11, 1, 6}, {12, 1, 7},
	{13, 1, 8}, {14, 1, 9}, {16, 1, 10}, {20, 1, 11}, {23, 1, 12}, {25, 1, 13}, {26, 1, 14}, {27, 1, 15},
}

var sx1301LUT = []SX1301Gain{
	{0, 8, -6, 0}, {0, 10, -3, 0}, {0, 12, 0, 0}, {1, 8, 3, 0}, {1, 10, 6, 0}, {1, 12, 10, 0}, {1, 13, 11, 0}, {2, 9, 12, 0},
	{1, 15, 13, 0}, {2, 10, 14, 0}, {2, 11, 16, 0}, {3, 9, 20, 0}, {3, 10, 23, 0}, {3, 11, 25, 0}, {3, 12, 26, 0}, {3, 14, 27, 0},
}

var sx1301LUT433 = []SX1301Gain{
	{0, 9, -6, 0}, {0, 12, -3, 0}, {0, 15, 0, 0}, {1, 9, 3, 3}, {2, 9, 6, 3}, {2, 8, 10, 0}, {2, 9, 11, 0}, {2, 10, 12, 1},
	{2, 10, 13, 0}, {2, 11, 14, 1}, {2, 12, 16, 0}, {3, 8, 20, 0}, {3, 11, 23, 0}, {3, 13, 25, 0}, {3, 13, 26, 0}, {3, 13, 27, 0},
}

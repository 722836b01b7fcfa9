package regions

// The plan table: frequency data only, no calibration (see package configs).
// Derived from the regional templates that NebraLtd/hm-pktfwd ships; each
// channel's frequency is its radio's centre plus its IF.
//
// To add a plan: append one literal below (and its enum number and plain-name
// alias if it has them), then add its row of channel frequencies to
// plans_test.go. The HAL-limit test checks it for both chip families.
var plans = []Plan{
	{Name: "US915_SB2",
		Radios: [2]Hz{904_300_000, 905_000_000}, TX: [2]Hz{902_000_000, 928_000_000},
		MultiSF: []Channel{{0, -400_000}, {0, -200_000}, {0, 0}, {0, 200_000}, {1, -300_000}, {1, -100_000}, {1, 100_000}, {1, 300_000}},
		Std:     &Std{Radio: 0, IF: 300_000, Bandwidth: 500_000, SF: 8}},
	eu868("EU868_A"), eu868("EU868_B"), eu868("EU868_C"),
	eu868("EU868_D"), eu868("EU868_E"), eu868("EU868_F"),
	// hm-pktfwd's EU433 template puts two channels at IF -1.2 MHz and -1.0 MHz,
	// which both real forwarders reject; the same three channels (433.175,
	// 433.375 and 433.575 MHz) with radio 0 centred at 433.275 MHz fit.
	{Name: "EU433",
		Radios: [2]Hz{433_275_000, 433_575_000}, TX: [2]Hz{433_050_000, 434_900_000},
		MultiSF: []Channel{{0, -100_000}, {0, 100_000}, {1, 0}}},
	// hm-pktfwd's SX1301 and SX1302 templates disagree on CN470's LoRa-std
	// channel; this follows the SX1302 one and Helium's sx1250 file.
	{Name: "CN470_A",
		Radios: [2]Hz{486_600_000, 487_400_000}, TX: [2]Hz{486_290_000, 510_000_000},
		MultiSF: []Channel{{0, -300_000}, {0, -100_000}, {0, 100_000}, {0, 300_000}, {1, -300_000}, {1, -100_000}, {1, 100_000}, {1, 300_000}},
		Std:     &Std{Radio: 1, IF: -200_000, Bandwidth: 250_000, SF: 7}},
	{Name: "AU915_SB1",
		Radios: [2]Hz{915_600_000, 916_300_000}, TX: [2]Hz{915_000_000, 927_600_000},
		MultiSF: []Channel{{0, -400_000}, {0, -200_000}, {0, 0}, {0, 200_000}, {1, -300_000}, {1, -100_000}, {1, 100_000}, {1, 300_000}},
		Std:     &Std{Radio: 0, IF: 300_000, Bandwidth: 500_000, SF: 8}},
	{Name: "AU915_SB2",
		Radios: [2]Hz{917_200_000, 917_900_000}, TX: [2]Hz{916_700_000, 927_600_000},
		MultiSF: []Channel{{0, -400_000}, {0, -200_000}, {0, 0}, {0, 200_000}, {1, -300_000}, {1, -100_000}, {1, 100_000}, {1, 300_000}},
		Std:     &Std{Radio: 0, IF: 300_000, Bandwidth: 500_000, SF: 8}},
	as923("AS923_1A", 923_500_000, 915_000_000, 928_000_000),
	as923("AS923_1B", 922_300_000, 915_000_000, 928_000_000),
	as923("AS923_1C", 923_500_000, 915_000_000, 928_000_000),
	as923("AS923_1D", 923_500_000, 915_000_000, 928_000_000),
	as923("AS923_1E", 923_500_000, 915_000_000, 928_000_000),
	as923("AS923_1F", 923_500_000, 915_000_000, 928_000_000),
	as923("AS923_2A", 921_700_000, 920_000_000, 923_000_000),
	as923("AS923_3A", 916_900_000, 915_000_000, 921_000_000),
	as923("AS923_4A", 917_600_000, 917_000_000, 920_000_000),
	{Name: "IN865_A",
		Radios: [2]Hz{865_200_000, 866_385_000}, TX: [2]Hz{865_000_000, 867_000_000}, TXNotch: 129_000,
		MultiSF: []Channel{{0, -137_500}, {0, 202_500}, {1, -400_000}}},
	{Name: "KR920_A",
		Radios: [2]Hz{922_400_000, 923_000_000}, TX: [2]Hz{920_900_000, 923_300_000},
		MultiSF: []Channel{{0, -300_000}, {0, -100_000}, {0, 100_000}, {0, 300_000}, {1, -100_000}, {1, 100_000}, {1, 300_000}}},
	{Name: "RU864_A",
		Radios: [2]Hz{864_500_000, 869_000_000}, TX: [2]Hz{863_000_000, 870_000_000},
		MultiSF: []Channel{{0, -400_000}, {0, -200_000}, {0, 0}, {0, 200_000}, {0, 400_000}, {1, -100_000}, {1, 100_000}}},
}

// eu868 is the EU868 plan; hm-pktfwd's sub-plans A to F share its channels.
func eu868(name string) Plan {
	return Plan{Name: name,
		Radios: [2]Hz{867_500_000, 868_500_000}, TX: [2]Hz{863_000_000, 870_000_000},
		MultiSF: []Channel{{1, -400_000}, {1, -200_000}, {1, 0}, {0, -400_000}, {0, -200_000}, {0, 0}, {0, 200_000}, {0, 400_000}},
		Std:     &Std{Radio: 1, IF: -200_000, Bandwidth: 250_000, SF: 7}}
}

// as923 is an AS923 plan: eight channels 200 kHz apart on two radios 800 kHz
// apart, and a 500 kHz LoRa-std channel.
func as923(name string, radio0, txMin, txMax Hz) Plan {
	return Plan{Name: name,
		Radios: [2]Hz{radio0, radio0 + 800_000}, TX: [2]Hz{txMin, txMax},
		MultiSF: []Channel{{0, -300_000}, {0, -100_000}, {0, 100_000}, {0, 300_000}, {1, -300_000}, {1, -100_000}, {1, 100_000}, {1, 300_000}},
		Std:     &Std{Radio: 0, IF: 300_000, Bandwidth: 500_000, SF: 8}}
}

// aliases maps the plain names to the sub-plan hm-pktfwd uses for them.
var aliases = map[string]string{
	"US915": "US915_SB2", "EU868": "EU868_A", "CN470": "CN470_A",
	"AU915": "AU915_SB2", "AS923": "AS923_1A", "AS923_1": "AS923_1A",
	"AS923_2": "AS923_2A", "AS923_3": "AS923_3A", "AS923_4": "AS923_4A",
	"IN865": "IN865_A", "KR920": "KR920_A", "RU864": "RU864_A",
}

// numbers is the Helium region enum (helium-proto region.proto), as the
// gateway reports it. Names absent from the plan table are unsupported.
var numbers = map[int]string{
	0: "US915", 1: "EU868", 2: "EU433", 3: "CN470", 4: "CN779", 5: "AU915",
	6: "AS923_1", 7: "KR920", 8: "IN865", 9: "AS923_2", 10: "AS923_3",
	11: "AS923_4", 12: "AS923_1B", 13: "CD900_1A", 14: "RU864",
	15: "EU868_A", 16: "EU868_B", 17: "EU868_C", 18: "EU868_D", 19: "EU868_E",
	20: "EU868_F", 21: "AU915_SB1", 22: "AU915_SB2", 23: "AS923_1A",
	24: "AS923_1C", 25: "AS923_1D", 26: "AS923_1E", 27: "AS923_1F",
}

// Unknown is the enum number of a gateway that has no region asserted yet.
const Unknown = 99

package regions_test

import (
	"errors"
	"strings"
	"testing"

	"pktfwd/regions"
)

func TestParse_Spellings(t *testing.T) {
	for in, want := range map[string]string{
		"EU868": "EU868_A", "eu868": "EU868_A", "region_eu868": "EU868_A",
		"REGION_EU868": "EU868_A", " EU868\n": "EU868_A", "EU868\r\n": "EU868_A",
		"as923_1": "AS923_1A", "AS923_1B": "AS923_1B", "au915": "AU915_SB2",
		"US915": "US915_SB2", "region_us915\n": "US915_SB2", "EU433": "EU433",
		"cn470": "CN470_A", "KR920_A": "KR920_A",
	} {
		p, err := regions.Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if p.Name != want {
			t.Errorf("Parse(%q) = %s, want %s", in, p.Name, want)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	for in, want := range map[string]error{
		"":                regions.ErrEmpty,
		" \n":             regions.ErrEmpty,
		"UNKNOWN":         regions.ErrNotAsserted,
		"null\n":          regions.ErrNotAsserted,
		"CN779":           regions.ErrUnknown,
		"CD900_1A":        regions.ErrUnknown,
		"EU86":            regions.ErrUnknown,
		"../../etc/EU868": regions.ErrUnknown,
		`EU868\`:          regions.ErrUnknown,
		"region_":         regions.ErrUnknown,
	} {
		_, err := regions.Parse(in)
		if !errors.Is(err, want) {
			t.Errorf("Parse(%q) = %v, want %v", in, err, want)
		}
	}
}

func TestParse_UnknownNamesValueAndListsPlans(t *testing.T) {
	_, err := regions.Parse("CN779")
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{`"CN779"`, "EU868_A", "US915", "AS923_1F"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %s", err, s)
		}
	}
	_, err = regions.Parse(strings.Repeat("x", 1<<20))
	if len(err.Error()) > 1000 {
		t.Errorf("error for a 1 MiB value is %d bytes long", len(err.Error()))
	}
}

func TestByNumber(t *testing.T) {
	for n, want := range map[int]string{
		0: "US915_SB2", 1: "EU868_A", 2: "EU433", 3: "CN470_A", 5: "AU915_SB2",
		6: "AS923_1A", 7: "KR920_A", 8: "IN865_A", 9: "AS923_2A", 10: "AS923_3A",
		11: "AS923_4A", 12: "AS923_1B", 14: "RU864_A", 15: "EU868_A", 20: "EU868_F",
		21: "AU915_SB1", 22: "AU915_SB2", 23: "AS923_1A", 24: "AS923_1C", 27: "AS923_1F",
	} {
		p, err := regions.ByNumber(n)
		if err != nil || p.Name != want {
			t.Errorf("ByNumber(%d) = %s, %v; want %s", n, p.Name, err, want)
		}
	}
	for n, want := range map[int]error{4: regions.ErrUnknown, 13: regions.ErrUnknown, 28: regions.ErrUnknown, -1: regions.ErrUnknown, 99: regions.ErrNotAsserted} {
		if _, err := regions.ByNumber(n); !errors.Is(err, want) {
			t.Errorf("ByNumber(%d) = %v, want %v", n, err, want)
		}
	}
	if _, err := regions.ByNumber(4); !strings.Contains(err.Error(), "CN779") {
		t.Errorf("ByNumber(4) error %q does not name CN779", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"EU868", "region_us915\n", "", "UNKNOWN", "../x", "AS923_1B", "\x00EU868\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := regions.Parse(s)
		if err == nil {
			if _, ok := regions.Lookup(p.Name); !ok {
				t.Fatalf("Parse(%q) returned plan %q that Lookup does not know", s, p.Name)
			}
			if strings.ContainsAny(s, `/\`) {
				t.Fatalf("Parse(%q) accepted a path", s)
			}
		} else if len(err.Error()) > 2000 {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
	})
}

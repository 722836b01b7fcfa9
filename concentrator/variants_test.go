package concentrator_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"pktfwd/concentrator"
)

// referenceVariants is testdata/variants.json: NebraLtd/hm-pyhelper's
// hardware table (hm_pyhelper/hardware_definitions.py) as published with
// the project's reference data; its "source" field says where each part
// comes from. It is read here, never regenerated from the code.
type referenceVariants struct {
	Source  string             `json:"source"`
	Current []referenceVariant `json:"current"`
	Legacy  []referenceVariant `json:"legacy"`
	Aliases map[string]string  `json:"aliases"`
}

type referenceVariant struct {
	Variant string `json:"VARIANT"`
	SPIBus  string `json:"SPIBUS"`
	Reset   int    `json:"RESET"`
}

func loadReference(t *testing.T) referenceVariants {
	t.Helper()
	b, err := os.ReadFile("testdata/variants.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref referenceVariants
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Current) == 0 || len(ref.Legacy) == 0 || len(ref.Aliases) == 0 {
		t.Fatalf("testdata/variants.json has %d current, %d legacy, %d aliases", len(ref.Current), len(ref.Legacy), len(ref.Aliases))
	}
	return ref
}

// TestVariants_Reference: every name of the reference table (current,
// legacy, alias, and in any case) resolves to the SPI bus and reset GPIO
// the table gives; an alias resolves exactly like its target.
func TestVariants_Reference(t *testing.T) {
	ref := loadReference(t)
	want := map[string]referenceVariant{}
	for _, v := range append(append([]referenceVariant(nil), ref.Current...), ref.Legacy...) {
		want[v.Variant] = v
	}
	check := func(name string, w referenceVariant) concentrator.Hardware {
		t.Helper()
		h, errs := concentrator.Resolve(concentrator.Settings{Variant: name})
		if len(errs) > 0 {
			t.Errorf("VARIANT=%s: %v", name, errs)
			return h
		}
		if h.Bus.Name() != w.SPIBus || h.Reset == nil || *h.Reset != (concentrator.LineSpec{Global: w.Reset}) {
			t.Errorf("VARIANT=%s: got %s reset %v, want %s reset %d", name, h.Bus.Name(), h.Reset, w.SPIBus, w.Reset)
		}
		return h
	}
	for name, w := range want {
		check(name, w)
		check(strings.ToLower(name), w)
	}
	for alias, target := range ref.Aliases {
		w, ok := want[target]
		if !ok {
			t.Errorf("alias %s → %s: the target is not in the reference table", alias, target)
			continue
		}
		got, viaTarget := check(alias, w), check(target, w)
		if !reflect.DeepEqual(got, viaTarget) {
			t.Errorf("alias %s resolves to %+v, its target %s to %+v", alias, got, target, viaTarget)
		}
	}
}

// TestVariants_NothingInvented: the compact table and alias map hold only
// names of the reference table, with its values.
func TestVariants_NothingInvented(t *testing.T) {
	ref := loadReference(t)
	known := map[string]referenceVariant{}
	for _, v := range append(append([]referenceVariant(nil), ref.Current...), ref.Legacy...) {
		known[v.Variant] = v
	}
	for _, v := range concentrator.Variants() {
		r, ok := known[v.Name]
		if !ok || r.SPIBus != v.SPIBus || r.Reset != v.Reset {
			t.Errorf("table row %+v: reference has %+v (found %v)", v, r, ok)
		}
	}
	if got := concentrator.Aliases(); !reflect.DeepEqual(got, ref.Aliases) {
		t.Errorf("aliases differ from the reference:\n got %v\nwant %v", got, ref.Aliases)
	}
}

func TestLookupVariant_UnknownListsAliases(t *testing.T) {
	_, err := concentrator.LookupVariant("COMP-PANTHERX")
	if err == nil || !strings.Contains(err.Error(), "COMP-PANTHERX1") {
		t.Errorf("got %v, want the alias COMP-PANTHERX1 among the closest names", err)
	}
}

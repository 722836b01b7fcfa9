package configs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/internal/reffreq"
	"pktfwd/regions"
)

// referenceTable holds the frequency facts of hm-pktfwd's templates (see
// regions/testdata/README.md); the rendered configs and the golden files
// are checked against it, not only against the code that made them.
const referenceTable = "../regions/testdata/reference-frequencies.tsv"

func referenceRows(t *testing.T) map[string]reffreq.Row {
	t.Helper()
	rows, err := reffreq.Load(referenceTable)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]reffreq.Row{}
	for _, r := range rows {
		m[r.Family+"/"+r.Plan] = r
	}
	return m
}

func family(m concentrator.Model) string {
	if m.CoreCell() {
		return "sx1302"
	}
	return "sx1301"
}

// Every plan name of every template, rendered for each chip, carries the
// template's radio centres, TX range and channel frequencies.
func TestRender_MatchesReferenceFrequencies(t *testing.T) {
	rows := referenceRows(t)
	for _, m := range models {
		for _, name := range regions.Names() {
			r, ok := rows[family(m)+"/"+name]
			if !ok {
				t.Errorf("no reference row for %s/%s", family(m), name)
				continue
			}
			p, _ := regions.Parse(name)
			fs, err := configs.Render(m, p, site)
			if err != nil {
				t.Fatal(err)
			}
			got, err := reffreq.FromConfig(fs["global_conf.json"])
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range r.Diff(got) {
				t.Errorf("%s %s: %s", m, name, d)
			}
		}
	}
}

// The golden files themselves agree with the templates.
func TestGoldenFiles_MatchReferenceFrequencies(t *testing.T) {
	rows := referenceRows(t)
	golden, _ := filepath.Glob("testdata/*.global_conf.json")
	if len(golden) == 0 {
		t.Fatal("no golden files")
	}
	for _, g := range golden {
		parts := strings.SplitN(filepath.Base(g), ".", 3) // sx1302.EU868.global_conf.json
		r, ok := rows[parts[0]+"/"+parts[1]]
		if !ok {
			t.Errorf("%s: no reference row for %s/%s", g, parts[0], parts[1])
			continue
		}
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := reffreq.FromConfig(data)
		if err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		for _, d := range r.Diff(got) {
			t.Errorf("%s: %s", g, d)
		}
	}
}

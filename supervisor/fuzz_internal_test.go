package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pktfwd/regions"
)

// FuzzRegionFile feeds arbitrary file contents to the region file reader:
// it never panics, and what it accepts is a plan of the table.
func FuzzRegionFile(f *testing.F) {
	for _, s := range []string{"EU868", "region_us915\n", "", "\x00\x00", "UNKNOWN", "AS923_1B\r\n", strings.Repeat("x", 5000), "eu868\neu868"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "region")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		name, p, err := fileSource{path: path}.Region(context.Background())
		if err != nil {
			if len(err.Error()) > 4096 {
				t.Fatalf("an error of %d bytes", len(err.Error()))
			}
			return
		}
		if _, ok := regions.Lookup(p.Name); !ok || len(data) > maxRegionBytes || name == "" {
			t.Fatalf("accepted %q as %q (%s)", data, name, p.Name)
		}
	})
}

// FuzzRegionOutput feeds arbitrary command output to its parser.
func FuzzRegionOutput(f *testing.F) {
	for _, s := range []string{"region_eu868", "Region:\nEU868\n", "EU868\r\n", "", "\n\n", "null"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		_, p, err := parseRegionOutput(out)
		if err == nil {
			if _, ok := regions.Lookup(p.Name); !ok {
				t.Fatalf("accepted %q as unknown plan %q", out, p.Name)
			}
		}
	})
}

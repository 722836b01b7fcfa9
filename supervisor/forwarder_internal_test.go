package supervisor

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func writeFake(t *testing.T, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lora_pkt_fwd")
	if err := os.WriteFile(p, content, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// padded puts s at offset at in a file of zeros.
func padded(at int, s string) []byte {
	b := make([]byte, at+len(s)+100)
	copy(b[at:], s)
	return b
}

func TestScanSX1302Build_FakeFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content []byte
		limit   int64
		want    sx1302Build
	}{
		{"Lora-net keys", []byte("\x7fELF…ERROR: com_type must be configured\x00com_path\x00"), maxForwarderScan, buildLoraNet},
		{"Helium key", []byte("\x7fELF…INFO: spidev_path %s\x00spidev_path\x00"), maxForwarderScan, buildHelium},
		{"both", []byte("spidev_path com_type"), maxForwarderScan, buildLoraNet},
		{"neither", []byte("#!/bin/sh\nexit 0\n"), maxForwarderScan, buildUnknown},
		{"empty", nil, maxForwarderScan, buildUnknown},
		{"com_type across a chunk boundary", padded(64<<10-4, "com_type"), maxForwarderScan, buildLoraNet},
		{"spidev_path across a chunk boundary", padded(64<<10-5, "spidev_path"), maxForwarderScan, buildHelium},
		{"far into a big file", padded(3<<20+7, "com_type"), maxForwarderScan, buildLoraNet},
		{"beyond the limit is not read", padded(2<<20, "com_type"), 1 << 20, buildUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanSX1302Build(writeFake(t, tc.content), tc.limit)
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := scanSX1302Build(filepath.Join(t.TempDir(), "missing"), maxForwarderScan); err == nil {
		t.Error("a missing file scanned without error")
	}
}

// TestScanSX1302Build_RealForwarders tells the real builds apart.
func TestScanSX1302Build_RealForwarders(t *testing.T) {
	dir := os.Getenv("PKTFWD_FORWARDERS_DIR")
	if dir == "" {
		t.Skip("PKTFWD_FORWARDERS_DIR is unset: set it to the directory of the reference lora_pkt_fwd builds")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("PKTFWD_FORWARDERS_DIR: %v", err)
	}
	for name, want := range map[string]sx1302Build{
		"sx1302-helium-1.0.5": buildHelium, "sx1302-lora-net-2.1.0": buildLoraNet, "sx1302-lora-net-2.1.0-simhal": buildLoraNet,
	} {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// The keys are where the scan expects them: a sanity check on the data.
		if bytes.Contains(b, []byte("com_type")) != (want == buildLoraNet) {
			t.Errorf("%s: com_type present = %v", name, !(want == buildLoraNet))
		}
		if got, err := scanSX1302Build(p, maxForwarderScan); err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", name, got, err, want)
		}
	}
}

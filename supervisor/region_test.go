package supervisor_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCommandSource_Spellings(t *testing.T) {
	for _, out := range []string{"region_eu868", "EU868\\r\\n", "Region:\\nEU868\\n", "  eu868  "} {
		t.Run(out, func(t *testing.T) {
			h := newHarness(t)
			script := filepath.Join(h.dir, "miner")
			os.WriteFile(script, []byte("#!/bin/sh\nprintf '"+out+"'\n"), 0o755)
			h.cfg.RegionCommand = script + " info region"
			h.cfg.RegionFilePath = ""
			h.start()
			e, _ := h.wait("EU868", 0, h.running("EU868_A"))
			if e.RegionSource != "command "+script+" info region" {
				t.Errorf("source %q", e.RegionSource)
			}
		})
	}
}

// A miner rewriting the file in place in two writes: "AS923_1" is a valid
// plan of its own, but the file is still being written.
func TestFileSource_TornWriteNeverRestartsOntoAWrongPlan(t *testing.T) {
	h := newHarness(t)
	h.writeRegion("EU868")
	h.start()
	_, next := h.wait("EU868", 0, h.running("EU868_A"))
	f, err := os.OpenFile(h.cfg.RegionFilePath, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("AS923_1")
	time.Sleep(8 * time.Millisecond) // the miner is slow between its two writes
	f.WriteString("B\n")
	f.Close()
	h.wait("AS923_1B", next, h.running("AS923_1B"))
	for _, e := range h.snapshot() {
		if e.Region == "AS923_1A" {
			t.Fatalf("restarted onto the half-written AS923_1: %+v", e.Status)
		}
	}
}

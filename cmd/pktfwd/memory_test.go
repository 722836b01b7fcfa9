package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneMemory_LowersGOGCUnlessSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "100") // restored when the test ends
	tuneMemory()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC percent became %d, want it left at 100", got)
	}
	os.Unsetenv("GOGC")
	tuneMemory()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent %d, want %d", got, gcPercent)
	}
}

package main

import (
	"os"
	"runtime/debug"
)

// gcPercent keeps the idle supervisor's heap small. Go's heap goal is at
// least 4 MB × GOGC/100, and the runtime keeps up to about that much heap
// memory resident. The supervisor's live heap is a few hundred kilobytes,
// so at the default GOGC of 100 its resident memory creeps up by megabytes
// over the first hour of idling; at 25 the floor is 1 MB, and the extra
// collections cost nothing measurable at its allocation rate.
const gcPercent = 25

// tuneMemory applies gcPercent unless GOGC says otherwise.
func tuneMemory() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

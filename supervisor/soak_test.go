package supervisor_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"pktfwd/concentrator"
)

// TestSoak restarts the forwarder over and over while the region keeps
// changing, and checks that memory does not grow while it runs, and that
// every goroutine and open file is gone once it stops. (Counted while it
// runs, a restart in progress holds a few for a moment.)
// CI runs 200 restarts and 20 region changes; the full soak is
//
//	PKTFWD_SOAK=1 go test -run TestSoak -timeout 2h -v ./supervisor
//
// with 10,000 restarts and 1,000 region changes (PKTFWD_SOAK_RESTARTS=N
// for N restarts and N/10 changes).
func TestSoak(t *testing.T) {
	restarts, changes := 200, 20
	if os.Getenv("PKTFWD_SOAK") == "1" {
		restarts, changes = 10000, 1000
	}
	if n, err := strconv.Atoi(os.Getenv("PKTFWD_SOAK_RESTARTS")); err == nil && n >= 20 {
		restarts, changes = n, n/10
	}
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 0.001
	h.opt.MaxBackoff = time.Millisecond
	rec := &concentrator.SimRecorder{Keep: 64} // the simulated lines keep no history
	h.opt.Lines = &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power"), Step: time.Microsecond}
	h.setMode("crash")
	h.writeRegion("EU868")
	runtime.GC()
	g0, f0 := runtime.NumGoroutine(), openFDs(t)
	h.start()
	_, next := h.wait("20 restarts", 0, func(e event) bool { return e.Restarts >= 20 })
	h.logs.Reset()
	h.forget()
	runtime.GC()
	m0, h0 := rssKB(), heapKB()
	plans := []struct{ name, plan string }{{"US915", "US915_SB2"}, {"EU868", "EU868_A"}}
	every := restarts / changes
	for i := 0; i < changes; i++ {
		_, next = h.wait("restarts", next, func(e event) bool { return e.Restarts >= 20+(i+1)*every })
		p := plans[i%2]
		h.writeRegion(p.name)
		_, next = h.wait(p.plan, next, func(e event) bool { return e.Region == p.plan })
		h.logs.Reset() // the test's log hook keeps every entry; the supervisor keeps none
	}
	h.wait("all restarts", next, func(e event) bool { return e.Restarts >= 20+restarts })
	h.logs.Reset()
	h.forget()
	runtime.GC()
	m1, h1 := rssKB(), heapKB()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	g1, f1 := runtime.NumGoroutine(), openFDs(t)
	t.Logf("%d restarts, %d region changes: goroutines %d → %d and fds %d → %d (before the start → after the stop), RSS %d → %d kB, live heap %d → %d kB",
		h.last().Restarts, changes, g0, g1, f0, f1, m0, m1, h0, h1)
	if g1 > g0+1 || f1 > f0 { // os/signal may have started its goroutine
		t.Errorf("goroutines %d → %d, fds %d → %d", g0, g1, f0, f1)
	}
	if m1 > m0+20*1024 || h1 > h0+1024 {
		t.Errorf("RSS grew from %d to %d kB, live heap from %d to %d kB", m0, m1, h0, h1)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func rssKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}

// heapKB is the live heap after a GC (the harness's bounded buffers included).
func heapKB() int {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int(ms.HeapAlloc / 1024)
}

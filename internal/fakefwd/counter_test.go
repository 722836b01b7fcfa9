package fakefwd_test

import (
	"strings"
	"testing"
	"time"
)

// The chip failures the watchdog looks for, as the real forwarder showed
// them on a simulated concentrator: a frozen counter repeats its value in
// every block, an unknown one prints one line in place of both, and a
// failed fetch ends the process at once with status 1.
func TestCounterFailures(t *testing.T) {
	t.Run("frozen", func(t *testing.T) {
		s := startServer(t, acks)
		f := startFwd(t, conf(t, "sx1302", gw(s.port())), "FAKEFWD_MODE=freeze-counter:1.5s")
		bs := f.waitBlocks(4)
		c := []int{field(bs[0], "# SX1302 counter (INST): "), field(bs[2], "# SX1302 counter (INST): "), field(bs[3], "# SX1302 counter (INST): ")}
		if c[0] < 900_000 || c[0] > 1_500_000 || c[1] != c[2] || c[1] < 1_400_000 || c[1] > 1_600_000 {
			t.Errorf("counters %v: want about 1000000 at 1 s, then the value at 1.5 s in every block", c)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		s := startServer(t, acks)
		f := startFwd(t, conf(t, "sx1302", gw(s.port())), "FAKEFWD_MODE=counter-unknown:1.5s")
		bs := f.waitBlocks(3)
		if !has(bs[2], "# SX1302 counter unknown") || has(bs[2], "# SX1302 counter (PPS):  0") || has(bs[0], "# SX1302 counter unknown") {
			t.Errorf("blocks:\n%s\n%s", strings.Join(bs[0], "\n"), strings.Join(bs[2], "\n"))
		}
	})
	t.Run("fetch fails", func(t *testing.T) {
		s := startServer(t, acks)
		f := startFwd(t, conf(t, "sx1302", gw(s.port())), "FAKEFWD_MODE=fetch-fail:1.2s")
		st, ok := f.wait(10 * time.Second)
		if !ok || st.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1", st)
		}
		out := f.text()
		if !strings.Contains(out, "ERROR: [up] failed packet fetch, exiting\n") || strings.Contains(out, "Exiting packet forwarder program") {
			t.Errorf("output:\n%s", out)
		}
	})
}

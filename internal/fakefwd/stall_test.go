package fakefwd_test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// A radio thread that hangs holding the concentrator lock, as the real
// forwarder did under SIMHAL_STALL_AFTER_S: the next block stops where it
// reads the chip, PUSH_DATA stops for good, keepalives and their acks go
// on, SIGTERM ends only the downstream thread, and only SIGKILL ends the
// process.
func TestStall(t *testing.T) {
	for _, tc := range []struct {
		family, mode, cut string
		usr2              bool
	}{
		{"sx1302", "stall:1.5s", "### SX1302 Status ###", false},
		{"sx1302", "run", "### SX1302 Status ###", true},
		{"sx1301", "stall:1.5s", "### [JIT] ###", false},
	} {
		name := tc.family + " " + tc.mode
		if tc.usr2 {
			name = tc.family + " SIGUSR2"
		}
		t.Run(name, func(t *testing.T) {
			s := startServer(t, acks)
			f := startFwd(t, conf(t, tc.family, gw(s.port(), "keepalive_interval", 1)), "FAKEFWD_MODE="+tc.mode)
			if tc.usr2 {
				f.waitBlocks(1)
				f.signal(syscall.SIGUSR2)
			}
			// The cut block: its header after the last complete one, then
			// the lines up to the chip read, and nothing of it after that.
			cut := f.waitLine(tc.cut, len(f.waitBlocks(1))+1)
			pulls := func() int {
				n := 0
				for _, d := range s.received() {
					if d.id() == 2 && d.at.After(cut.at) {
						n++
					}
				}
				return n
			}
			pullAcks := strings.Count(f.text(), "INFO: [down] PULL_ACK received in ")
			s.waitFor(t, "2 keepalives after the cut", func(datagram) bool { return pulls() >= 2 })
			f.waitLine("INFO: [down] PULL_ACK received in ", pullAcks+2)
			for _, d := range s.received() {
				if d.id() == 0 && d.at.After(cut.at) {
					t.Errorf("a PUSH_DATA %s after the cut block: %s", d.at.Sub(cut.at), d.b[12:])
				}
			}
			out := f.text()
			if tail := out[strings.LastIndex(out, tc.cut):]; strings.Contains(tail, "##### END #####") || strings.Contains(tail, "\n##### 2") {
				t.Errorf("after the cut:\n%s", tail)
			}
			f.signal(syscall.SIGTERM)
			f.waitLine("INFO: End of downstream thread", 1)
			if _, exited := f.wait(time.Second); exited {
				t.Fatalf("a stalled forwarder exited on SIGTERM:\n%s", f.text())
			}
			f.signal(syscall.SIGKILL)
			if st, ok := f.wait(5 * time.Second); !ok || st.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("after SIGKILL: %v", st)
			}
			if out := f.text(); strings.Contains(out, "Exiting packet forwarder program") || strings.Contains(out, "End of upstream thread") {
				t.Errorf("the stalled forwarder went on to exit:\n%s", out)
			}
		})
	}
}

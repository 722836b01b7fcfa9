package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"pktfwd/supervisor"
)

// rssFileKB is the resident file-backed memory of this process.
func rssFileKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssFile:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// The trim gives back most of the binary's resident pages: the test binary
// (a few MB of code, faulted in by its start-up) stands in for pktfwd.
func TestTrimStartupPages_GivesBackTheBinarysPages(t *testing.T) {
	before := rssFileKB(t)
	n, err := trimStartupPages()
	if errors.Is(err, syscall.EINVAL) {
		t.Skipf("this kernel has no MADV_PAGEOUT: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	exe, _ := os.Stat("/proc/self/exe")
	if n < int(exe.Size())/2 {
		t.Errorf("advised %d bytes of a %d-byte binary", n, exe.Size())
	}
	if after > before/2 {
		t.Errorf("RssFile %d kB before the trim, %d kB after: want less than half", before, after)
	}
	t.Logf("RssFile %d kB -> %d kB (%d bytes advised)", before, after, n)
}

func TestReadOnlyMappingOf(t *testing.T) {
	self := unix.Stat_t{Ino: 1234, Dev: unix.Mkdev(0xfe, 0)}
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{"00400000-008c6000 r-xp 00000000 fe:00 1234    /usr/bin/pktfwd", true},
		{"008c6000-00df3000 r--p 004c6000 fe:00 1234    /usr/bin/pktfwd (deleted)", true},
		{"00df3000-00e76000 rw-p 009f3000 fe:00 1234    /usr/bin/pktfwd", false}, // data: written, not the file's any more
		{"00400000-008c6000 r-xp 00000000 fe:00 999     /usr/lib/other", false},
		{"00400000-008c6000 r-xp 00000000 fe:01 1234    /other/device", false},
		{"7ffd1000-7ffd3000 r-xp 00000000 00:00 0       [vdso]", false},
		{"garbage", false},
	} {
		s, e, ok := readOnlyMappingOf(c.line, self)
		if ok != c.ok || ok && (s != 0x400000 && s != 0x8c6000 || e <= s) {
			t.Errorf("%q: %#x-%#x %v, want ok %v", c.line, s, e, ok, c.ok)
		}
	}
}

func TestOnFirstRunning_ClosesOnceAndPassesEveryStatusOn(t *testing.T) {
	running := make(chan struct{})
	var seen []supervisor.State
	f := onFirstRunning(func(s supervisor.Status) { seen = append(seen, s.State) }, running)
	f(supervisor.Status{State: supervisor.StateStartingFwd})
	select {
	case <-running:
		t.Fatal("closed before the forwarder ran")
	default:
	}
	f(supervisor.Status{State: supervisor.StateRunning})
	f(supervisor.Status{State: supervisor.StateRunning}) // a second close would panic
	<-running
	if len(seen) != 3 {
		t.Errorf("passed on %v", seen)
	}
}

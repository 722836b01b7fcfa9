package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// trimStartupPages gives back to the kernel the pages of pktfwd's own
// binary that start-up faulted in: madvise(MADV_PAGEOUT) over the
// binary's read-only mappings (code and constants). Start-up runs the
// init functions of every package, and the kernel maps the binary 64 KB
// around each page touched, so about 80 % of the binary stays resident
// although an idle supervisor needs a small part of it; the part it does
// need faults back in (docs/memory.md). It returns how many bytes it
// advised. Kernels before 5.4 do not know MADV_PAGEOUT: an error.
func trimStartupPages() (int, error) {
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &self); err != nil {
		return 0, fmt.Errorf("stat /proc/self/exe: %w", err)
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer maps.Close()
	var advised int
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		start, end, ok := readOnlyMappingOf(sc.Text(), self)
		if !ok {
			continue
		}
		// The raw call: unix.Madvise wants a []byte, and these pages are
		// not Go memory.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_PAGEOUT); errno != 0 {
			if errno == syscall.EINVAL {
				return advised, fmt.Errorf("madvise MADV_PAGEOUT: %w (kernels before 5.4 lack it)", errno)
			}
			return advised, fmt.Errorf("madvise MADV_PAGEOUT: %w", errno)
		}
		advised += int(end - start)
	}
	return advised, sc.Err()
}

// readOnlyMappingOf parses one line of /proc/self/maps
// ("start-end perms offset dev inode path") and reports the range when it
// maps the file self without write permission.
func readOnlyMappingOf(line string, self unix.Stat_t) (start, end uintptr, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || f[1][1] == 'w' {
		return 0, 0, false
	}
	if ino, err := strconv.ParseUint(f[4], 10, 64); err != nil || ino != self.Ino {
		return 0, 0, false
	}
	if f[3] != fmt.Sprintf("%02x:%02x", unix.Major(self.Dev), unix.Minor(self.Dev)) {
		return 0, 0, false
	}
	lo, hi, _ := strings.Cut(f[0], "-")
	s, err1 := strconv.ParseUint(lo, 16, 64)
	e, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}

package main

import (
	"errors"
	"fmt"
	"os"
	"reflect"
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
	if err := syncBinary(); err != nil {
		return 0, err
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	spans := binarySpans(string(maps), codeAddr())
	if len(spans) == 0 {
		return 0, errors.New("no read-only mapping of the binary found in /proc/self/maps")
	}
	var advised int
	for _, s := range spans {
		// The raw call: unix.Madvise wants a []byte, and these pages are
		// not Go memory.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, s.start, s.end-s.start, unix.MADV_PAGEOUT); errno != 0 {
			if errno == syscall.EINVAL {
				return advised, fmt.Errorf("madvise MADV_PAGEOUT: %w (kernels before 5.4 lack it)", errno)
			}
			return advised, fmt.Errorf("madvise MADV_PAGEOUT: %w", errno)
		}
		advised += int(s.end - s.start)
	}
	return advised, nil
}

// syncBinary writes the binary's dirty pages, if any, to disk. The kernel
// pages out only clean pages, and a binary written moments ago (an image
// update extracted just before the container started) is still dirty in
// the page cache. On a binary that is on disk already, it costs nothing.
func syncBinary() error {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync the binary: %w", err)
	}
	return nil
}

// codeAddr is an address in the binary's code.
func codeAddr() uintptr { return reflect.ValueOf(trimStartupPages).Pointer() }

// span is an address range [start, end).
type span struct{ start, end uintptr }

// mapping is one line of /proc/self/maps.
type mapping struct {
	span
	writable bool
	file     string // "dev inode" as the line shows them; "" when anonymous
}

// binarySpans returns the read-only mappings of the file whose mapping
// holds pc: the binary. The file is named by the device and inode that
// the maps themselves show, not by a stat of /proc/self/exe: on overlayfs
// (a Docker container), kernels before 6.8 show the underlying file
// system's device in the maps, while a stat shows the overlay's.
func binarySpans(maps string, pc uintptr) []span {
	var all []mapping
	self := ""
	for _, line := range strings.Split(maps, "\n") {
		m, ok := parseMapping(line)
		if !ok {
			continue
		}
		all = append(all, m)
		if m.start <= pc && pc < m.end {
			self = m.file
		}
	}
	if self == "" {
		return nil
	}
	var spans []span
	for _, m := range all {
		if m.file == self && !m.writable {
			spans = append(spans, m.span)
		}
	}
	return spans
}

// parseMapping parses one line of /proc/self/maps
// ("start-end perms offset dev inode path").
func parseMapping(line string) (mapping, bool) {
	f := strings.Fields(line)
	if len(f) < 5 || len(f[1]) < 2 {
		return mapping{}, false
	}
	lo, hi, _ := strings.Cut(f[0], "-")
	s, err1 := strconv.ParseUint(lo, 16, 64)
	e, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return mapping{}, false
	}
	m := mapping{span: span{uintptr(s), uintptr(e)}, writable: f[1][1] == 'w'}
	if f[4] != "0" {
		m.file = f[3] + " " + f[4]
	}
	return m, true
}

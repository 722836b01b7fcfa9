package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

// requirePageable skips a test when the file at path is on tmpfs or ramfs:
// their pages are memory, not a copy of a file the kernel can drop, so
// MADV_PAGEOUT cannot give them back (go test builds its binaries in
// GOTMPDIR, else TMPDIR, often a tmpfs /tmp).
func requirePageable(t *testing.T, path string) {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		t.Fatal(err)
	}
	switch int64(fs.Type) {
	case unix.TMPFS_MAGIC, unix.RAMFS_MAGIC:
		t.Skipf("%s is on tmpfs or ramfs, whose pages cannot be paged out to a file: set GOTMPDIR (or TMPDIR) to a directory on disk to run this test", path)
	}
}

// The trim gives back most of the binary's resident pages: the test binary
// (a few MB of code, faulted in by its start-up) stands in for pktfwd.
func TestTrimStartupPages_GivesBackTheBinarysPages(t *testing.T) {
	requirePageable(t, "/proc/self/exe")
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

// The binary is found by the mapping that holds its code, and named by the
// device and inode the maps show. A stat of /proc/self/exe does not do: in
// a Docker container (overlayfs) before Linux 6.8, the maps show the lower
// file system's device (here fe:00) while the stat shows the overlay's
// (00:26), and no mapping would match.
func TestBinarySpans(t *testing.T) {
	const maps = `00400000-008c7000 r-xp 00000000 fe:00 9986089    /merged/usr/bin/pktfwd
008c7000-00dfa000 r--p 004c7000 fe:00 9986089    /merged/usr/bin/pktfwd
00dfa000-00e7d000 rw-p 009fa000 fe:00 9986089    /merged/usr/bin/pktfwd
00e7d000-00ec0000 rw-p 00000000 00:00 0
c000000000-c000400000 rw-p 00000000 00:00 0
7f0000000000-7f0000010000 r--p 00000000 00:26 9986089    /other/device/same/inode
7f0000010000-7f0000020000 r-xp 00000000 fe:00 1234       /usr/lib/other
7ffd1000-7ffd3000 r-xp 00000000 00:00 0                  [vdso]
garbage
`
	got := binarySpans(maps, 0x401234)
	want := []span{{0x400000, 0x8c7000}, {0x8c7000, 0xdfa000}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the binary's read-only mappings: got %#v, want %#v", got, want)
	}
	if got := binarySpans(maps, 0xe7e000); got != nil { // in the anonymous mapping after the binary's
		t.Errorf("an address in anonymous memory named a file: %#v", got)
	}
	if got := binarySpans(maps, 0x1000); got != nil {
		t.Errorf("an address outside every mapping named a file: %#v", got)
	}
}

// The running test binary finds its own code the same way.
func TestBinarySpans_FindsThisBinary(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var size uintptr
	for _, s := range binarySpans(string(maps), codeAddr()) {
		size += s.end - s.start
	}
	exe, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if int64(size) < exe.Size()/2 {
		t.Errorf("found %d bytes of read-only mappings of a %d-byte binary", size, exe.Size())
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

// A binary written moments ago is dirty in the page cache, and the kernel
// pages out only clean pages: the trim syncs it first. This test copies
// itself to a new file in one write and runs the copy at once.
func TestTrimStartupPages_FreshlyWrittenBinary(t *testing.T) {
	if os.Getenv("PKTFWD_TRIM_CHILD") == "1" {
		before := rssFileKB(t)
		if _, err := trimStartupPages(); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("rss %d %d\n", before, rssFileKB(t))
		return
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "pktfwd.test")
	requirePageable(t, filepath.Dir(fresh))
	if err := os.WriteFile(fresh, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fresh, "-test.run=^TestTrimStartupPages_FreshlyWrittenBinary$", "-test.v")
	cmd.Env = append(os.Environ(), "PKTFWD_TRIM_CHILD=1")
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "MADV_PAGEOUT") {
		t.Skipf("this kernel has no MADV_PAGEOUT:\n%s", out)
	}
	var before, after int
	i := strings.Index(string(out), "rss ")
	if err != nil || i < 0 {
		t.Fatalf("the copy: %v\n%s", err, out)
	}
	if _, err := fmt.Sscanf(string(out[i:]), "rss %d %d", &before, &after); err != nil {
		t.Fatalf("the copy's output: %v\n%s", err, out)
	}
	if after > before/2 {
		t.Errorf("RssFile %d kB before the trim of a freshly written binary, %d kB after: want less than half", before, after)
	}
	t.Logf("RssFile %d kB -> %d kB", before, after)
}

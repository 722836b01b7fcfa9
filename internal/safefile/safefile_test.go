package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRead_RegularFileAndSymlinkToOne(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "region")
	os.WriteFile(p, []byte("EU868\n"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(p, link)
	for _, path := range []string{p, link} {
		b, err := Read(path, 4096)
		if err != nil || string(b) != "EU868\n" {
			t.Errorf("Read(%s) = %q, %v", path, b, err)
		}
	}
}

func TestRead_ExactlyTheLimitIsFine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, bytes.Repeat([]byte("x"), 100), 0o644)
	if b, err := Read(p, 100); err != nil || len(b) != 100 {
		t.Errorf("got %d bytes, %v", len(b), err)
	}
}

func TestRead_MissingIsNotExist(t *testing.T) {
	p := filepath.Join(t.TempDir(), "absent")
	_, err := Read(p, 10)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p) {
		t.Errorf("got %v", err)
	}
}

// Each of these would hang os.ReadFile or read without end; each must be
// an error at once that names the path.
func TestRead_RefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	os.Symlink("/dev/zero", zero)
	fifoLink := filepath.Join(dir, "fifo-link")
	os.Symlink(fifo, fifoLink)
	sub := filepath.Join(dir, "dir")
	os.Mkdir(sub, 0o755)
	for path, kind := range map[string]string{
		fifo: "named pipe", fifoLink: "named pipe", zero: "character device", "/dev/null": "character device", sub: "directory",
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := readWithin(t, path, 4096)
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), kind) {
				t.Errorf("got %.40q, %v; want an error naming %s as %s", b, err, path, kind)
			}
		})
	}
}

func TestRead_OversizeIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	os.WriteFile(p, bytes.Repeat([]byte("EU868\n"), 1000), 0o644)
	b, err := Read(p, 4096)
	if !errors.Is(err, ErrTooLarge) || b != nil || !strings.Contains(err.Error(), p) {
		t.Errorf("got %d bytes, %v", len(b), err)
	}
}

// A file that reports size 0 but holds more (as /proc files do) is still
// cut at the limit, not read whole.
func TestRead_SizeZeroFileOverTheLimit(t *testing.T) {
	_, err := Read("/proc/self/maps", 8)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("got %v", err)
	}
}

// The path is replaced by a FIFO, a /dev/zero symlink or another file after
// the check: what is read is still the file that was checked.
func TestRead_FileReplacedBetweenCheckAndOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "region")
	for name, replace := range map[string]func() error{
		"fifo":      func() error { os.Remove(p); return syscall.Mkfifo(p, 0o644) },
		"dev-zero":  func() error { os.Remove(p); return os.Symlink("/dev/zero", p) },
		"directory": func() error { os.Remove(p); return os.Mkdir(p, 0o755) },
		"other":     func() error { return os.WriteFile(p+".new", []byte("US915"), 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			os.RemoveAll(p)
			os.WriteFile(p, []byte("EU868"), 0o644)
			b, err := read(p, 4096, func() {
				if err := replace(); err != nil {
					t.Fatal(err)
				}
				if name == "other" {
					os.Rename(p+".new", p)
				}
			})
			if err != nil || string(b) != "EU868" {
				t.Errorf("got %.40q, %v; want the file that was checked", b, err)
			}
		})
	}
}

// Swapping the path between a regular file, a FIFO and a /dev/zero symlink
// while it is read: every read is the regular file's content or a
// not-regular error, never a hang and never more than the limit.
func TestRead_RacingReplacements(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "region")
	good, fifo, zero := filepath.Join(dir, "good"), filepath.Join(dir, "fifo"), filepath.Join(dir, "zero")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tmp := filepath.Join(dir, "tmp")
			os.Remove(tmp)
			switch i % 3 {
			case 0:
				os.WriteFile(good, []byte("EU868"), 0o644)
				os.Rename(good, p)
			case 1:
				syscall.Mkfifo(fifo, 0o644)
				os.Rename(fifo, p)
			case 2:
				os.Symlink("/dev/zero", zero)
				os.Rename(zero, p)
			}
		}
	}()
	deadline := time.Now().Add(300 * time.Millisecond)
	var ok, refused int
	for time.Now().Before(deadline) {
		b, err := readWithin(t, p, 64)
		switch {
		case err == nil && string(b) == "EU868":
			ok++
		case errors.Is(err, ErrNotRegular), errors.Is(err, fs.ErrNotExist):
			refused++
		default:
			t.Fatalf("got %.40q, %v", b, err)
		}
	}
	t.Logf("%d reads of the regular file, %d refused", ok, refused)
}

// readWithin fails the test if Read does not return within a second.
func readWithin(t *testing.T, path string, limit int64) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := Read(path, limit)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-time.After(time.Second):
		t.Fatalf("Read(%s) hangs", path)
		return nil, nil
	}
}

package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"pktfwd/internal/safefile"
)

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers see the old or the new contents, never
// an empty or torn file. The data is synced before the rename and the
// directory after it, so the new file survives a power cut once this
// returns.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeAtomic(path, data, perm, syncAll)
}

// durability says what writeAtomic syncs; the rename is atomic for readers
// in every case. The supervisor's own files need no sync while it runs
// (docs/files.md): it compares and rewrites the forwarder's files before
// every start and writes diagnostics false first, so a file that a power
// cut left old or empty is replaced before anything trusts it. A sync would
// only add SD card wear and about a millisecond per file to a region change.
type durability int

const (
	syncNone durability = iota // the supervisor's files, rewritten at every start
	syncAll                    // the data and the rename (the status left at exit; `pktfwd render`)
)

// writeAtomic is WriteFileAtomic with the syncs that d asks for.
func writeAtomic(path string, data []byte, perm os.FileMode, d durability) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		// Name the file, not the random temporary one, so that the same
		// failure reads the same each time.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil && d == syncAll {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, perm)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	if d == syncAll {
		return syncDir(dir)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// writeIfChanged writes atomically, without a sync, unless path already
// holds data; it reports whether it wrote.
// The old file is read safely: a FIFO or device left in its place counts
// as changed and is replaced, never read.
func writeIfChanged(path string, data []byte, perm os.FileMode) (bool, error) {
	if old, err := safefile.Read(path, int64(len(data))); err == nil && bytes.Equal(old, data) {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm() == perm {
			return false, nil
		}
	}
	return true, writeAtomic(path, data, perm, syncNone)
}

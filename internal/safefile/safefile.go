// Package safefile reads small files that other containers or users
// control (the region file, a maker's template) without ever hanging or
// reading without bound: a FIFO, a device node, a directory, or a symlink
// to one of them is an error naming the path, and so is a file over the
// caller's size limit.
//
// The path is first opened with O_PATH, which opens nothing (a FIFO does
// not wait for a writer, a device driver is not called), and checked with
// fstat on that descriptor. Only a regular file is then opened for reading,
// through /proc/self/fd, so what is read is the very file that was checked
// even if the path is replaced in between. Symlinks are followed: a symlink
// to a regular file is fine.
package safefile

import (
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"io/fs"
	"os"
	"strconv"
)

var (
	// ErrNotRegular means the path is a FIFO, device, directory or socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means the file holds more than the caller's limit.
	ErrTooLarge = errors.New("file too large")
)

// Read returns the contents of the regular file at path, at most limit
// bytes. A missing file is an error that matches fs.ErrNotExist.
func Read(path string, limit int64) ([]byte, error) {
	return read(path, limit, nil)
}

// read is Read with a hook run between the check and the open, so a test
// can replace the file in between.
func read(path string, limit int64, between func()) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := regular(path, st.Mode); err != nil {
		return nil, err
	}
	if st.Size > limit {
		return nil, fmt.Errorf("%s holds over %d bytes (%d): %w", path, limit, st.Size, ErrTooLarge)
	}
	if between != nil {
		between()
	}
	f, err := reopen(fd, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The descriptor must still be the file checked above: a fallback
	// open of the path by name may have found a replacement.
	var now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &now); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		return nil, fmt.Errorf("%s was replaced while it was being opened; try again", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, pathError("read", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s holds over %d bytes: %w", path, limit, ErrTooLarge)
	}
	return b, nil
}

// reopen opens the checked O_PATH descriptor for reading. Without /proc it
// opens the path by name, non-blocking, and the caller compares inodes.
func reopen(fd int, path string) (*os.File, error) {
	const flags = os.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), flags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(path, flags, 0)
	}
	if err != nil {
		return nil, pathError("open", path, err)
	}
	return f, nil
}

// pathError names path in err instead of the /proc/self/fd link.
func pathError(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// regular returns nil for a regular file, else an error naming what the
// path is.
func regular(path string, mode uint32) error {
	kind := ""
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFDIR:
		kind = "a directory"
	case unix.S_IFIFO:
		kind = "a named pipe (FIFO)"
	case unix.S_IFCHR:
		kind = "a character device"
	case unix.S_IFBLK:
		kind = "a block device"
	case unix.S_IFSOCK:
		kind = "a socket"
	default:
		kind = "of unknown type " + strconv.FormatUint(uint64(mode&unix.S_IFMT), 8)
	}
	return fmt.Errorf("%s is %s: %w", path, kind, ErrNotRegular)
}

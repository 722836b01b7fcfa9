package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// readSmallFile reads a file another container or the operator provides,
// such as hm-pktfwd's VARIANT file, without ever blocking or reading
// without bound: it opens without blocking (a FIFO would otherwise wait for
// a writer), checks the opened descriptor, not the path (no race between a
// check and the open), and accepts only a regular file of at most limit
// bytes. Errors name the path.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s (mode %#o), not a regular file", path, fileType(st.Mode()), st.Mode().Perm())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", path, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s grew beyond the %d bytes allowed while being read", path, limit)
	}
	return b, nil
}

// fileType names the kind of a file that is not a regular one.
func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

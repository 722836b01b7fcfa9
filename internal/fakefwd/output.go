package fakefwd

import (
	"bufio"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// output is the forwarder's stdout as C stdio buffers it: by line on a
// terminal, in 4096-byte blocks on a pipe or file, flushed at exit only.
// Its lock is stdio's: threads print whole calls, never interleaved.
type output struct {
	mu  sync.Mutex
	w   *bufio.Writer
	tty bool
}

func newOutput() *output {
	_, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS)
	return &output{w: bufio.NewWriterSize(os.Stdout, 4096), tty: err == nil}
}

// printf prints as the forwarder's printf does.
func (o *output) printf(format string, a ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, format, a...)
	if o.tty {
		o.w.Flush()
	}
}

// Write lets the output stand for an io.Writer (config lines, stat blocks).
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.w.Write(p)
	if o.tty {
		o.w.Flush()
	}
	return n, err
}

// flush writes what is buffered, as exit() does.
func (o *output) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Flush()
}

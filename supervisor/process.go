package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// tailLines is how many forwarder lines are kept for error reports.
const tailLines = 50

// maxLine splits longer output into several log entries.
const maxLine = 4096

// Exit is how a forwarder ended.
type Exit struct {
	Code   int           `json:"code"`             // -1 when killed by a signal
	Signal string        `json:"signal,omitempty"` // e.g. "killed", "segmentation fault"
	At     time.Time     `json:"at"`
	Cause  string        `json:"cause,omitempty"` // the known start failure its output shows (classify)
	Ran    time.Duration `json:"-"`
}

func (e Exit) String() string {
	if e.Signal != "" {
		return "killed by signal: " + e.Signal
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

// process is one forwarder run: its own session and process group, its
// output through a pseudo-terminal, one goroutine waiting for it and one
// reading its output. It knows nothing of regions or chips.
//
// Exit detection never depends on the terminal: done is closed the moment
// the forwarder is reaped, even while a descendant that left its process
// group (a daemon, a helper started with setsid) keeps the terminal open.
// The output is drained separately, for a bounded time (drained).
type process struct {
	cmd     *exec.Cmd
	started time.Time // monotonic
	// terminal is true when the output comes through a pseudo-terminal,
	// line by line; false in the pipe fallback, where it comes in bursts.
	terminal bool
	done     chan struct{} // closed once the process has exited and is reaped
	exit     Exit          // valid after done
	output   chan struct{} // closed when the output reader has finished
	out      io.Closer

	mu   sync.Mutex
	tail []string
}

// startProcess runs path in dir with env, sending each output line to
// logLine. The caller checks path with checkExecutable first.
// Without pty, or where no pseudo-terminal can be opened, it gets a pipe.
func startProcess(path, dir string, env []string, pty bool, logLine func(string), r *reaper) (*process, error) {
	p := &process{done: make(chan struct{}), output: make(chan struct{})}
	cmd := exec.Command(path)
	cmd.Dir = dir
	cmd.Env = env
	// Setsid gives the forwarder its own session and process group, so
	// signals reach the reset script it runs too; Pdeathsig kills it if the
	// supervisor dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	var master, tty *os.File
	err := errors.New("no pseudo-terminal asked for")
	if pty {
		master, tty, err = openPTY()
	}
	var reader io.ReadCloser = master
	p.terminal = err == nil
	if err != nil {
		// No /dev/pts (a very bare container): fall back to a pipe; the
		// forwarder's output then arrives in blocks.
		pr, pw, perr := os.Pipe()
		if perr != nil {
			return nil, fmt.Errorf("no pseudo-terminal (%v) and no pipe: %w", err, perr)
		}
		reader, tty = pr, pw
	}
	cmd.Stdout, cmd.Stderr = tty, tty
	if err := r.start(cmd); err != nil {
		reader.Close()
		tty.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	tty.Close()
	p.cmd, p.started, p.out = cmd, time.Now(), reader
	go p.read(reader, logLine)
	go p.wait(r)
	return p, nil
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("forwarder %s does not exist: %w", path, err)
	case err != nil:
		return fmt.Errorf("forwarder %s: %w", path, err)
	case st.IsDir():
		return fmt.Errorf("forwarder %s is a directory", path)
	case !st.Mode().IsRegular():
		// A FIFO would block the build check's open for ever.
		return fmt.Errorf("forwarder %s is not a regular file (%s)", path, st.Mode().Type())
	case st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("forwarder %s is not executable (chmod +x it): %w", path, fs.ErrPermission)
	}
	return nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// hasExited tells whether the forwarder has been reaped.
func (p *process) hasExited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// drainTime bounds the wait for the output of a forwarder that has exited:
// the lines it printed last are usually read within a millisecond, but a
// descendant outside its process group may hold the terminal open for ever.
const drainTime = 200 * time.Millisecond

// wait reaps the forwarder, kills what is left of its process group (a
// reset script, a grandchild) and closes done at once; the output reader
// finishes on its own (see drained).
func (p *process) wait(r *reaper) {
	err := p.cmd.Wait()
	r.release(p.pid())
	p.exit = exitOf(p.cmd.ProcessState, err)
	p.exit.Ran = p.exit.At.Sub(p.started)
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	close(p.done)
}

// drained waits, after done, until the output reader has read what the
// forwarder printed, at most drainTime; then it closes the terminal, which
// ends a read that a descendant outside the group would keep open, and
// returns once the reader has stopped. The terminal is non-blocking (see
// openPTY), so Close interrupts a pending read instead of waiting for it.
func (p *process) drained() {
	t := time.NewTimer(drainTime)
	defer t.Stop()
	select {
	case <-p.output:
	case <-t.C:
	}
	p.out.Close()
	<-p.output
}

func exitOf(st *os.ProcessState, err error) Exit {
	e := Exit{At: time.Now(), Code: -1}
	if st == nil {
		e.Signal = fmt.Sprint(err)
		return e
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal().String()
		return e
	}
	e.Code = st.ExitCode()
	return e
}

// read splits the output into lines, strips the terminal's carriage
// returns, logs each and keeps the last tailLines.
func (p *process) read(r io.ReadCloser, logLine func(string)) {
	defer close(p.output)
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if line := string(bytes.TrimRight(chunk, "\r\n")); line != "" {
			p.remember(line)
			logLine(line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return // EOF, or EIO once the terminal's last writer is gone
		}
	}
}

func (p *process) remember(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tail) == tailLines {
		p.tail = p.tail[1:]
	}
	p.tail = append(p.tail, line)
}

// lastLines returns the last output lines, oldest first.
func (p *process) lastLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tail...)
}

// killWait bounds the wait for a forwarder to be reaped after SIGKILL. A
// process in uninterruptible sleep (a wedged SPI driver) dies only when it
// leaves the kernel; shutdown must not wait for that.
const killWait = 500 * time.Millisecond

// stop sends SIGTERM to the process group, then SIGKILL after grace, and
// returns once the forwarder is reaped, or killWait after the SIGKILL
// (reaped reports which). It is safe to call after exit.
func (p *process) stop(grace time.Duration) (reaped bool) {
	select {
	case <-p.done:
		return true
	default:
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
	}
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	t.Reset(killWait)
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

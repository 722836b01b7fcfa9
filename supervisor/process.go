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
type process struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed once the process has exited and is reaped
	exit    Exit          // valid after done
	output  chan struct{} // closed when the output reader has finished
	out     io.Closer

	mu   sync.Mutex
	tail []string
}

// startProcess runs path in dir with env, sending each output line to
// logLine. The caller checks path with checkExecutable first.
func startProcess(path, dir string, env []string, logLine func(string), r *reaper) (*process, error) {
	p := &process{done: make(chan struct{}), output: make(chan struct{})}
	cmd := exec.Command(path)
	cmd.Dir = dir
	cmd.Env = env
	// Setsid gives the forwarder its own session and process group, so
	// signals reach the reset script it runs too; Pdeathsig kills it if the
	// supervisor dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	master, tty, err := openPTY()
	var reader io.ReadCloser = master
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
	case st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("forwarder %s is not executable (chmod +x it): %w", path, fs.ErrPermission)
	}
	return nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// wait reaps the forwarder, kills what is left of its process group (a reset
// script, a grandchild), then gives the reader a moment to drain.
func (p *process) wait(r *reaper) {
	err := p.cmd.Wait()
	r.release(p.pid())
	p.exit = exitOf(p.cmd.ProcessState, err)
	p.exit.Ran = p.exit.At.Sub(p.started)
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	drain := time.NewTimer(200 * time.Millisecond)
	defer drain.Stop()
	select {
	case <-p.output:
	case <-drain.C:
		p.out.Close() // a grandchild outside the group holds the terminal
		<-p.output
	}
	close(p.done)
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

// stop sends SIGTERM to the process group, then SIGKILL after grace, and
// returns once the forwarder is reaped. It is safe to call after exit.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

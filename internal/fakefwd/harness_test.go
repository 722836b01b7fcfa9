package fakefwd_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests run the simulated forwarder as a process, on a terminal as
// the supervisor runs it, against a GWMP server on a real UDP socket.
// Their expectations are the real forwarders' behaviour as recorded in
// docs/fake-forwarder.md and docs/forwarder-stats.md, not this package's
// constants.

var fakeBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakefwd-test")
	if err != nil {
		panic(err)
	}
	fakeBinary = filepath.Join(dir, "lora_pkt_fwd")
	if out, err := exec.Command("go", "build", "-o", fakeBinary, "pktfwd/internal/fakefwd/lora_pkt_fwd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the simulated forwarder: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// datagram is what the server received, when, and from which port.
type datagram struct {
	at   time.Time
	from *net.UDPAddr
	b    []byte
}

func (d datagram) id() byte { return d.b[3] }

// server is a GWMP server: answer decides the reply to each datagram
// (nil: none) and how long to wait before sending it.
type server struct {
	conn   *net.UDPConn
	answer func(d datagram) ([]byte, time.Duration)
	done   chan struct{}

	mu  sync.Mutex
	got []datagram
	new chan struct{}
}

// acks answers PUSH_DATA and PULL_DATA with their ack and token, at once.
func acks(d datagram) ([]byte, time.Duration) {
	switch d.id() {
	case 0:
		return []byte{2, d.b[1], d.b[2], 1}, 0
	case 2:
		return []byte{2, d.b[1], d.b[2], 4}, 0
	}
	return nil, 0
}

func startServer(t *testing.T, answer func(datagram) ([]byte, time.Duration)) *server {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{conn: conn, answer: answer, done: make(chan struct{}), new: make(chan struct{}, 1)}
	var replies sync.WaitGroup
	t.Cleanup(func() { conn.Close(); <-s.done; replies.Wait() })
	go func() {
		defer close(s.done)
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			d := datagram{at: time.Now(), from: from, b: append([]byte(nil), buf[:n]...)}
			s.mu.Lock()
			s.got = append(s.got, d)
			s.mu.Unlock()
			select {
			case s.new <- struct{}{}:
			default:
			}
			if n < 4 || answer == nil {
				continue
			}
			if reply, after := answer(d); reply != nil {
				replies.Add(1)
				time.AfterFunc(after, func() { defer replies.Done(); conn.WriteToUDP(reply, from) })
			}
		}
	}()
	return s
}

func (s *server) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *server) received() []datagram {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]datagram(nil), s.got...)
}

// waitFor waits until some received datagram satisfies ok.
func (s *server) waitFor(t *testing.T, what string, ok func(datagram) bool) datagram {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, d := range s.received() {
			if ok(d) {
				return d
			}
		}
		select {
		case <-s.new:
		case <-deadline:
			t.Fatalf("no %s in 20 s", what)
		}
	}
}

// send sends b to where datagram d came from (the forwarder's socket).
func (s *server) send(t *testing.T, to datagram, b []byte) {
	if _, err := s.conn.WriteToUDP(b, to.from); err != nil {
		t.Fatal(err)
	}
}

// fwd is a running simulated forwarder.
type fwd struct {
	t   *testing.T
	dir string
	cmd *exec.Cmd

	mu     sync.Mutex
	lines  []line
	more   chan struct{}
	read   chan struct{} // closed when the terminal has no writer left
	exited chan struct{}
	state  *os.ProcessState
}

type line struct {
	at   time.Time
	text string
}

// conf returns the repository's rendered SX1302 EU868 config (or the
// SX1301 US915 one) with gateway_conf edited.
func conf(t *testing.T, family string, gw map[string]any) map[string]any {
	name := map[string]string{"sx1302": "sx1302.EU868.global_conf.json", "sx1301": "sx1301.US915.global_conf.json"}[family]
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	g := c["gateway_conf"].(map[string]any)
	for k, v := range gw {
		g[k] = v
	}
	return c
}

// startFwd runs the forwarder in a new directory with config c, on a
// pseudo-terminal, with env added.
func startFwd(t *testing.T, c map[string]any, env ...string) *fwd {
	dir := t.TempDir()
	b, _ := json.Marshal(c)
	must(t, os.WriteFile(filepath.Join(dir, "global_conf.json"), b, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "reset_lgw.sh"), []byte("#!/bin/sh\necho \"$1\" >> reset.log\n"), 0o755))
	master, tty := openPTY(t)
	f := &fwd{t: t, dir: dir, more: make(chan struct{}, 1), exited: make(chan struct{})}
	f.cmd = exec.Command(fakeBinary)
	f.cmd.Dir = dir
	f.cmd.Env = append(os.Environ(), env...)
	f.cmd.Stdout, f.cmd.Stderr = tty, tty
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	must(t, f.cmd.Start())
	tty.Close()
	f.read = make(chan struct{})
	go func() {
		defer close(f.read)
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			f.mu.Lock()
			f.lines = append(f.lines, line{time.Now(), strings.TrimRight(sc.Text(), "\r")})
			f.mu.Unlock()
			select {
			case f.more <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		f.cmd.Wait()
		f.mu.Lock()
		f.state = f.cmd.ProcessState
		f.mu.Unlock()
		close(f.exited)
	}()
	t.Cleanup(func() {
		f.cmd.Process.Kill()
		<-f.exited
		master.Close()
		<-f.read
	})
	return f
}

func openPTY(t *testing.T) (master, tty *os.File) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	must(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	must(t, err)
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	must(t, err)
	return master, tty
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fwd) output() []line {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]line(nil), f.lines...)
}

func (f *fwd) text() string {
	var b strings.Builder
	for _, l := range f.output() {
		b.WriteString(l.text + "\n")
	}
	return b.String()
}

// waitLine waits for the n-th line (from 1) that contains s.
func (f *fwd) waitLine(s string, n int) line {
	f.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		seen := 0
		for _, l := range f.output() {
			if strings.Contains(l.text, s) {
				if seen++; seen == n {
					return l
				}
			}
		}
		select {
		case <-f.more:
		case <-f.exited:
			time.Sleep(50 * time.Millisecond) // the last lines
			select {
			case <-f.more:
			default:
				f.t.Fatalf("the forwarder exited without printing %q (%d times):\n%s", s, n, f.text())
			}
		case <-deadline:
			f.t.Fatalf("no %q (%d times) in 20 s:\n%s", s, n, f.text())
		}
	}
}

// blocks returns the complete statistics blocks printed so far.
func (f *fwd) blocks() [][]string {
	var bs [][]string
	var cur []string
	for _, l := range f.output() {
		switch {
		case strings.HasPrefix(l.text, "##### ") && l.text != "##### END #####":
			cur = []string{l.text}
		case cur != nil:
			cur = append(cur, l.text)
			if l.text == "##### END #####" {
				bs, cur = append(bs, cur), nil
			}
		}
	}
	return bs
}

// waitBlocks waits for n complete statistics blocks.
func (f *fwd) waitBlocks(n int) [][]string {
	f.t.Helper()
	f.waitLine("##### END #####", n)
	return f.blocks()
}

func (f *fwd) signal(s syscall.Signal) { f.cmd.Process.Signal(s) }

// wait waits at most d for the exit and the last output.
func (f *fwd) wait(d time.Duration) (*os.ProcessState, bool) {
	select {
	case <-f.exited:
		select {
		case <-f.read:
		case <-time.After(time.Second): // a descendant may hold the terminal
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.state, true
	case <-time.After(d):
		return nil, false
	}
}

// has tells whether block b has line s.
func has(b []string, s string) bool {
	for _, l := range b {
		if l == s {
			return true
		}
	}
	return false
}

package supervisor

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// reaper reaps orphans when pktfwd is PID 1 (a container without an init):
// the kernel re-parents a forwarder's leftover children to PID 1, and
// without a wait they stay zombies for ever. pktfwd's own children (the
// forwarder, a region command) are left to their exec.Cmd.Wait: they are
// started under the read lock and registered, and the reaper decides under
// the write lock, so it never takes one for an orphan.
type reaper struct {
	mu    sync.RWMutex
	kmu   sync.Mutex
	known map[int]bool
}

func newReaper() *reaper { return &reaper{known: map[int]bool{}} }

// start starts cmd and registers it as one of ours. A nil reaper just
// starts it.
func (r *reaper) start(cmd *exec.Cmd) error {
	if r == nil {
		return cmd.Start()
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	r.kmu.Lock()
	r.known[cmd.Process.Pid] = true
	r.kmu.Unlock()
	return nil
}

// release forgets a child once its own Wait has reaped it.
func (r *reaper) release(pid int) {
	if r == nil {
		return
	}
	r.kmu.Lock()
	delete(r.known, pid)
	r.kmu.Unlock()
}

// run reaps on every SIGCHLD, and every 10 s in case one was missed, until
// ctx ends.
func (r *reaper) run(ctx context.Context) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		r.reap()
		select {
		case <-ctx.Done():
			return
		case <-sig:
		case <-t.C:
		}
	}
}

// reap waits for every zombie child that is not one of ours.
func (r *reaper) reap() (n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // state, ppid, …
		if len(f) < 2 || f[0] != "Z" || f[1] != self {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		r.kmu.Lock()
		ours := r.known[pid]
		r.kmu.Unlock()
		var ws syscall.WaitStatus
		if !ours {
			if p, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); p == pid {
				n++
			}
		}
	}
	return n
}

package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/fsnotify/fsnotify"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"pktfwd/internal/safefile"
	"pktfwd/regions"
)

// regionSource gives the region from one place. Region may block up to its
// own timeout; each source runs in its own goroutine, so a hung source
// never delays another, a restart or a signal.
type regionSource interface {
	Name() string
	Region(ctx context.Context) (name string, plan regions.Plan, err error)
}

// regionUpdate is the region in force, or why there is none.
type regionUpdate struct {
	Name    string        // as the source gave it, e.g. "EU868"
	Plan    *regions.Plan // nil when no source has given one yet
	Source  string
	Problem string
}

// overrideSource is REGION_OVERRIDE.
type overrideSource struct{ value string }

func (o overrideSource) Name() string { return "REGION_OVERRIDE" }
func (o overrideSource) Region(context.Context) (string, regions.Plan, error) {
	p, err := regions.Parse(o.value)
	return strings.TrimSpace(o.value), p, err
}

// maxRegionBytes bounds what is read of a region file or command output.
const maxRegionBytes = 4096

// fileSource is the region file the miner container writes.
type fileSource struct {
	path   string
	settle time.Duration // between the two reads that must agree
}

func (f fileSource) Name() string { return "file " + f.path }

// Region reads the file until two consecutive reads agree, so a file read
// while the miner writes it never yields a wrong plan.
func (f fileSource) Region(ctx context.Context) (string, regions.Plan, error) {
	prev, err := f.read()
	for i := 0; i < 10; i++ {
		if err != nil {
			return "", regions.Plan{}, err
		}
		if !sleepCtx(ctx, f.settle) {
			return "", regions.Plan{}, ctx.Err()
		}
		var cur string
		if cur, err = f.read(); err == nil && cur == prev {
			p, perr := regions.Parse(cur)
			if perr != nil {
				return "", regions.Plan{}, fmt.Errorf("region file %s: %w", f.path, perr)
			}
			return strings.TrimSpace(cur), p, nil
		}
		prev = cur
	}
	return "", regions.Plan{}, fmt.Errorf("region file %s keeps changing", f.path)
}

func (f fileSource) read() (string, error) {
	b, err := safefile.Read(f.path, maxRegionBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w: region file %s does not exist yet", regions.ErrNotAsserted, f.path)
	case errors.Is(err, safefile.ErrNotRegular), errors.Is(err, safefile.ErrTooLarge):
		return "", fmt.Errorf("region file %w: check REGION_FILEPATH", err)
	case err != nil:
		return "", fmt.Errorf("region file %s unreadable (check its permissions or REGION_FILEPATH): %w", f.path, err)
	}
	return string(b), nil
}

// commandSource runs REGION_COMMAND (split into arguments, no shell) in a
// process group of its own. The whole group is killed at the timeout, when
// the supervisor stops, and as soon as the command itself has exited, so
// nothing it started outlives it or holds its output open.
type commandSource struct {
	argv    []string
	timeout time.Duration // REGION_COMMAND_TIMEOUT_SECONDS; 0 means defaultCommandTimeout
	reaper  *reaper
}

const (
	// defaultCommandTimeout is REGION_COMMAND_TIMEOUT_SECONDS's default.
	defaultCommandTimeout = 10 * time.Second
	// commandWaitDelay bounds how long a process that left the command's
	// group (setsid) can keep its output open after the group was killed.
	commandWaitDelay = 500 * time.Millisecond
	// maxStderr bounds what is kept of the command's stderr; at most
	// stderrLines of it, each cut at maxStderrLine bytes, are shown.
	maxStderr     = 2048
	stderrLines   = 5
	maxStderrLine = 200
)

func (c commandSource) Name() string { return "command " + strings.Join(c.argv, " ") }

func (c commandSource) Region(ctx context.Context) (string, regions.Plan, error) {
	out, stderr, err := c.run(ctx)
	if err == nil {
		var name string
		var p regions.Plan
		if name, p, err = parseRegionOutput(string(out)); err == nil || errors.Is(err, regions.ErrNotAsserted) {
			return name, p, err
		}
	}
	if s := firstLines(stderr, stderrLines); s != "" {
		err = fmt.Errorf("%w; its stderr: %s", err, s)
	}
	return "", regions.Plan{}, err
}

// run runs the command once within the timeout and returns its stdout and
// the start of its stderr.
func (c commandSource) run(ctx context.Context) (stdout, stderr []byte, err error) {
	timeout := c.timeout
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	quoted := fmt.Sprintf("REGION_COMMAND %q", strings.Join(c.argv, " "))
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var group processGroup
	cmd.Cancel = func() error { return group.kill(cmd.Process.Pid) }
	cmd.WaitDelay = commandWaitDelay
	out := &cappedBuffer{max: maxRegionBytes, failOver: true}
	errOut := &cappedBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := c.reaper.start(cmd); err != nil {
		return nil, nil, fmt.Errorf("%s cannot start: %w", quoted, err)
	}
	pid := cmd.Process.Pid
	waitExited(pid)
	group.kill(pid) // whatever the command left behind in its group
	group.reaping()
	err = cmd.Wait()
	c.reaper.release(pid)
	switch {
	case out.over:
		return nil, errOut.Bytes(), fmt.Errorf("%s printed over %d bytes: not a region name", quoted, maxRegionBytes)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, errOut.Bytes(), fmt.Errorf("%s did not finish within %s (REGION_COMMAND_TIMEOUT_SECONDS): killed it and every process of its group", quoted, timeout)
	case errors.Is(err, exec.ErrWaitDelay):
		return nil, errOut.Bytes(), fmt.Errorf("%s exited, but a process it started outside its process group kept its output open", quoted)
	case err != nil:
		return nil, errOut.Bytes(), fmt.Errorf("%s: %w", quoted, err)
	}
	return out.Bytes(), errOut.Bytes(), nil
}

// processGroup kills a command's process group only while the group
// leader is not yet reaped, so the group id cannot name anyone else's.
type processGroup struct {
	mu     sync.Mutex
	reaped bool
}

func (g *processGroup) kill(pid int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reaped {
		return os.ErrProcessDone
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// reaping is called before the leader is reaped; kill does nothing after.
func (g *processGroup) reaping() {
	g.mu.Lock()
	g.reaped = true
	g.mu.Unlock()
}

// waitExited blocks until the process has exited, leaving it unreaped.
func waitExited(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, syscall.EINTR) {
			return
		}
	}
}

// cappedBuffer keeps the first max bytes written to it. With failOver, a
// write past max fails, which closes the pipe the command writes to;
// without, the rest is dropped. (It must not embed bytes.Buffer, whose
// ReadFrom io.Copy would use instead of Write.)
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	failOver bool
	over     bool
}

var errOutputTooLong = errors.New("output too long")

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if len(p) > room {
		b.over = true
		b.buf.Write(p[:max(room, 0)])
		if b.failOver {
			return 0, errOutputTooLong
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) Bytes() []byte { return b.buf.Bytes() }

// firstLines is the first n non-blank lines of b on one line, control
// characters replaced, for a log message.
func firstLines(b []byte, n int) string {
	var lines []string
	for _, l := range strings.FieldsFunc(strings.ToValidUTF8(string(b), "?"), func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" && len(lines) < n {
			if len(l) > maxStderrLine {
				l = strings.ToValidUTF8(l[:maxStderrLine], "") + "…"
			}
			lines = append(lines, strings.Map(func(r rune) rune {
				if unicode.IsControl(r) {
					return '?'
				}
				return r
			}, l))
		}
	}
	return strings.Join(lines, " | ")
}

// parseRegionOutput takes the last line of output that names a region, so
// banners and blank lines around it do not matter.
func parseRegionOutput(out string) (string, regions.Plan, error) {
	lines := strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' })
	var firstErr error = regions.ErrEmpty
	for i := len(lines) - 1; i >= 0; i-- {
		p, err := regions.Parse(lines[i])
		if err == nil || errors.Is(err, regions.ErrNotAsserted) {
			return strings.TrimSpace(lines[i]), p, err
		}
		if i == len(lines)-1 {
			firstErr = err
		}
	}
	return "", regions.Plan{}, fmt.Errorf("REGION_COMMAND output: %w", firstErr)
}

// regionWatcher runs every source and sends the region in force on
// updates whenever it changes. Each source keeps its last good value when
// it fails or says "not asserted", so a hiccup never moves the forwarder.
type regionWatcher struct {
	sources []regionSource
	poll    time.Duration
	log     *logrus.Entry
	updates chan regionUpdate // capacity 1, latest wins
	reload  chan struct{}
}

type sourceResult struct {
	index int
	name  string
	plan  regions.Plan
	err   error
}

func (w *regionWatcher) run(ctx context.Context) {
	results := make(chan sourceResult)
	triggers := make([]chan struct{}, len(w.sources))
	states := make([]sourceState, len(w.sources))
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, src := range w.sources {
		states[i].seen = map[string]bool{}
		if o, ok := src.(overrideSource); ok {
			// REGION_OVERRIDE never changes: it is noted once, before any
			// other source answers, so that their first "no region yet" is
			// already judged against it.
			name, plan, err := o.Region(ctx)
			w.note(sourceResult{i, name, plan, err}, states)
			continue
		}
		triggers[i] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.runSource(ctx, i, src, triggers[i], results)
		}()
		if f, ok := src.(fileSource); ok {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.watchFile(ctx, f.path, triggers[i])
			}()
		}
	}
	w.aggregate(ctx, results, triggers, states)
}

func (w *regionWatcher) runSource(ctx context.Context, i int, src regionSource, trigger <-chan struct{}, out chan<- sourceResult) {
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	t := time.NewTicker(w.poll)
	defer t.Stop()
	for {
		name, plan, err := src.Region(ctx)
		select {
		case out <- sourceResult{i, name, plan, err}:
		case <-ctx.Done():
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-trigger:
		}
	}
}

// sourceState is what the watcher remembers of one source.
type sourceState struct {
	good    *sourceResult   // the last good value, kept through failures
	problem string          // the current problem, "" when good
	seen    map[string]bool // problems logged since the last good value
}

func (w *regionWatcher) aggregate(ctx context.Context, results <-chan sourceResult, triggers []chan struct{}, states []sourceState) {
	var current regionUpdate
	for {
		if next := inForce(w.sources, states); !sameRegion(next, current) {
			current = next
			select {
			case <-w.updates:
			default:
			}
			w.updates <- next
		}
		select {
		case <-ctx.Done():
			return
		case <-w.reload:
			for _, t := range triggers {
				if t != nil {
					poke(t)
				}
			}
		case r := <-results:
			w.note(r, states)
		}
	}
}

// inForce is the good value of the first source that has one, or the
// problems of all.
func inForce(sources []regionSource, states []sourceState) regionUpdate {
	var problems []string
	for i, st := range states {
		if st.good != nil {
			plan := st.good.plan
			return regionUpdate{Name: st.good.name, Plan: &plan, Source: sources[i].Name()}
		}
		if st.problem != "" {
			problems = append(problems, st.problem)
		}
	}
	return regionUpdate{Problem: strings.Join(problems, "; ")}
}

// maxSeen bounds the distinct problems remembered per source.
const maxSeen = 64

// note records a source's result and logs each distinct problem once until
// the source gives a good value again. A source that has no region yet
// while a source before it has one is logged at debug level only: the
// region in force does not depend on it.
func (w *regionWatcher) note(r sourceResult, states []sourceState) {
	st := &states[r.index]
	entry := w.log.WithField("region_source", w.sources[r.index].Name())
	if r.err == nil {
		if st.problem != "" {
			entry.Info("region source answers again")
		}
		st.good, st.problem = &r, ""
		clear(st.seen)
		return
	}
	msg := r.err.Error()
	st.problem = msg
	if errors.Is(r.err, regions.ErrNotAsserted) {
		if winner := w.winner(states[:r.index]); winner != "" {
			entry.Debugf("no region from this source (%s is in force): %s", winner, msg)
			return
		}
	}
	if st.seen[msg] {
		entry.Debug("still: ", msg)
		return
	}
	if len(st.seen) >= maxSeen {
		clear(st.seen)
	}
	st.seen[msg] = true
	switch {
	case errors.Is(r.err, regions.ErrNotAsserted):
		entry.Info("no region yet: ", msg)
	case st.good != nil:
		entry.Warnf("%s; keeping %s", msg, st.good.plan.Name)
	default:
		entry.Warn(msg)
	}
}

// winner names the first of states that has a good value, or "".
func (w *regionWatcher) winner(states []sourceState) string {
	for i, st := range states {
		if st.good != nil {
			return w.sources[i].Name()
		}
	}
	return ""
}

func sameRegion(a, b regionUpdate) bool {
	if (a.Plan == nil) != (b.Plan == nil) {
		return false
	}
	if a.Plan == nil {
		return a.Problem == b.Problem
	}
	return a.Plan.Name == b.Plan.Name && a.Source == b.Source && a.Name == b.Name
}

// dirRetry is how often a missing directory of the region file is looked
// for again. It costs a failed inotify_add_watch, and only while the
// directory is missing.
const dirRetry = 250 * time.Millisecond

// writePause is how long the writes of a region file written in place
// must pause before it is read. With the file source's two agreeing reads,
// a writer that pauses up to about writePause + settle between two writes
// is never read half-written.
const writePause = 5 * time.Millisecond

// watchFile watches the region file's directory, so atomic renames,
// deletion and re-creation are all seen, and pokes the file source: at once
// when the file appears (renamed into place: it is complete), writePause
// after the last write when it is written in place. A missing directory,
// or one that was removed or moved away, is looked for every dirRetry
// until it is back.
func (w *regionWatcher) watchFile(ctx context.Context, path string, trigger chan struct{}) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.log.Warnf("cannot watch %s (%v); polling every %s", path, err, w.poll)
		return
	}
	defer fw.Close()
	dir, base := filepath.Dir(path), filepath.Base(path)
	retry := time.NewTimer(dirRetry)
	defer retry.Stop()
	written := time.NewTimer(time.Hour)
	written.Stop()
	defer written.Stop()
	if fw.Add(dir) == nil {
		retry.Stop()
	} else {
		w.log.Infof("directory %s does not exist yet; looking for it every %s", dir, dirRetry)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			if fw.Add(dir) != nil {
				retry.Reset(dirRetry)
				continue
			}
			poke(trigger)
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			switch {
			case filepath.Clean(ev.Name) == filepath.Clean(dir) && ev.Has(fsnotify.Remove|fsnotify.Rename):
				retry.Reset(dirRetry) // the directory went; its watch with it
			case filepath.Base(ev.Name) == base && ev.Has(fsnotify.Create):
				poke(trigger) // trigger holds one poke: a burst is one read
			case filepath.Base(ev.Name) == base:
				written.Reset(writePause)
			}
		case <-written.C:
			poke(trigger)
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			w.log.Warnf("watching %s: %v", dir, err)
		}
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

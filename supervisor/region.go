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
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sirupsen/logrus"

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
	st, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: region file %s does not exist yet", regions.ErrNotAsserted, f.path)
	}
	if err == nil && !st.Mode().IsRegular() {
		// A directory fails to read; a FIFO would block the open for ever.
		return "", fmt.Errorf("region file %s is not a regular file (%s): check REGION_FILEPATH", f.path, st.Mode().Type())
	}
	file, err := os.Open(f.path)
	if err != nil {
		return "", fmt.Errorf("region file %s unreadable (check its permissions or REGION_FILEPATH): %w", f.path, err)
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxRegionBytes+1))
	if err != nil {
		return "", fmt.Errorf("region file %s unreadable (is it a directory? check REGION_FILEPATH): %w", f.path, err)
	}
	if len(b) > maxRegionBytes {
		return "", fmt.Errorf("region file %s holds over %d bytes: not a region name", f.path, maxRegionBytes)
	}
	return string(b), nil
}

// commandSource runs REGION_COMMAND (split into arguments, no shell).
type commandSource struct {
	argv    []string
	timeout time.Duration
	reaper  *reaper
}

func (c commandSource) Name() string { return "command " + strings.Join(c.argv, " ") }

func (c commandSource) Region(ctx context.Context) (string, regions.Plan, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, n: maxRegionBytes}
	err := c.reaper.start(cmd)
	if err == nil {
		err = cmd.Wait()
		c.reaper.release(cmd.Process.Pid)
	}
	if err != nil {
		return "", regions.Plan{}, fmt.Errorf("REGION_COMMAND %q: %w", strings.Join(c.argv, " "), err)
	}
	return parseRegionOutput(out.String())
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

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		l.w.Write(p[:l.n])
		l.n = 0
		return len(p), nil
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// regionWatcher runs every source and sends the region in force on
// updates whenever it changes. Each source keeps its last good value when
// it fails or says "not asserted", so a hiccup never moves the forwarder.
type regionWatcher struct {
	sources  []regionSource
	poll     time.Duration
	filePath string // watched with fsnotify when non-empty
	log      *logrus.Entry
	updates  chan regionUpdate // capacity 1, latest wins
	reload   chan struct{}
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
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, src := range w.sources {
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
	w.aggregate(ctx, results, triggers)
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

func (w *regionWatcher) aggregate(ctx context.Context, results <-chan sourceResult, triggers []chan struct{}) {
	states := make([]sourceState, len(w.sources))
	for i := range states {
		states[i].seen = map[string]bool{}
	}
	var current regionUpdate
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.reload:
			for _, t := range triggers {
				poke(t)
			}
			continue
		case r := <-results:
			w.note(r, &states[r.index])
		}
		next := inForce(w.sources, states)
		if sameRegion(next, current) {
			continue
		}
		current = next
		select {
		case <-w.updates:
		default:
		}
		w.updates <- next
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
// the source gives a good value again.
func (w *regionWatcher) note(r sourceResult, st *sourceState) {
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

func sameRegion(a, b regionUpdate) bool {
	if (a.Plan == nil) != (b.Plan == nil) {
		return false
	}
	if a.Plan == nil {
		return a.Problem == b.Problem
	}
	return a.Plan.Name == b.Plan.Name && a.Source == b.Source && a.Name == b.Name
}

// watchFile watches the region file's directory, so atomic renames,
// deletion and re-creation are all seen, and pokes the file source after
// events settle. A missing directory is retried every poll.
func (w *regionWatcher) watchFile(ctx context.Context, path string, trigger chan struct{}) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.log.Warnf("cannot watch %s (%v); polling every %s", path, err, w.poll)
		return
	}
	defer fw.Close()
	dir, base := filepath.Dir(path), filepath.Base(path)
	watching := fw.Add(dir) == nil
	if !watching {
		w.log.Infof("directory %s does not exist yet; polling for it every %s", dir, w.poll)
	}
	retry := time.NewTicker(w.poll)
	defer retry.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			if !watching && fw.Add(dir) == nil {
				watching = true
				poke(trigger)
			}
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			switch {
			case filepath.Clean(ev.Name) == filepath.Clean(dir) && ev.Has(fsnotify.Remove|fsnotify.Rename):
				watching = false // the directory went; re-added on the next poll
			case filepath.Base(ev.Name) == base:
				settle.Reset(5 * time.Millisecond)
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			w.log.Warnf("watching %s: %v", dir, err)
		case <-settle.C:
			poke(trigger)
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

package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// The region file's directory removed or moved away, then made again with
// a new region in it: the change is followed at once, not at the next
// poll (an hour here; a minute by default).
func TestRegionWatcher_DirectoryMadeAgain(t *testing.T) {
	for _, how := range []string{"removed", "moved away"} {
		t.Run(how, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pktfwd")
			path := filepath.Join(dir, "region")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := WriteFileAtomic(path, []byte("EU868"), 0o644); err != nil {
				t.Fatal(err)
			}
			w, hook, stop := runWatcher(fileSource{path: path, settle: time.Millisecond})
			defer stop()
			waitForPlan(t, w.updates, "EU868_A")

			if how == "removed" {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				// The read that the removal pokes has seen no file: a
				// file made now is not seen by that read.
				for !logged(hook, "does not exist yet") {
					runtime.Gosched()
				}
			} else if err := os.Rename(dir, dir+".old"); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := WriteFileAtomic(path, []byte("US915"), 0o644); err != nil {
				t.Fatal(err)
			}
			waitForPlan(t, w.updates, "US915_SB2")
		})
	}
}

// runWatcher runs a region watcher of sources, polling hourly, with a
// debug-level log hook, until stop.
func runWatcher(sources ...regionSource) (w *regionWatcher, hook *logtest.Hook, stop func()) {
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	w = &regionWatcher{
		sources: sources, poll: time.Hour, log: logrus.NewEntry(logger),
		updates: make(chan regionUpdate, 1), reload: make(chan struct{}, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx)
	}()
	return w, hook, func() { cancel(); <-done }
}

func logged(hook *logtest.Hook, s string) bool {
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}

// waitForPlan waits, generously, for an update to the plan want.
func waitForPlan(t *testing.T, updates <-chan regionUpdate, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case u := <-updates:
			if u.Plan != nil && u.Plan.Name == want {
				return
			}
		case <-deadline:
			t.Fatalf("no update to %s within 10 s", want)
		}
	}
}

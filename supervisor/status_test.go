package supervisor_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"pktfwd/supervisor"
)

// statusOnDisk reads and parses status.json as another container would.
func statusOnDisk(t *testing.T, h *harness) map[string]any {
	t.Helper()
	b, err := os.ReadFile(h.cfg.StatusFilePath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("status.json is not JSON: %v\n%s", err, b)
	}
	return m
}

func TestStatus_AcrossALifetime(t *testing.T) {
	h := newHarness(t)
	h.cfg.LoraPktFwdAfterFailureSleepSeconds = 0.3
	h.setMode("crash:7")
	h.writeRegion("EU868")
	h.start()

	_, next := h.wait("back-off after a crash", 0, func(e event) bool { return e.State == supervisor.StateBackoff && e.BackoffSecs > 0 })
	st := statusOnDisk(t, h)
	exit, _ := st["last_exit"].(map[string]any)
	if st["state"] != "backoff" || exit["code"] != 7.0 || st["restarts"] != 1.0 || st["pid"] != nil || st["chip"] != "sx1302" ||
		st["region"] != "EU868_A" || st["version"] != "test" || st["updated_at"] == nil || !strings.HasPrefix(fmt.Sprint(st["last_error"]), "forwarder exit code 7: no concentrator answered") ||
		!strings.HasPrefix(fmt.Sprint(exit["cause"]), "no concentrator answered") {
		t.Errorf("in back-off: %v", st)
	}
	h.setMode("run")
	_, next = h.wait("running", next, h.running("EU868_A"))
	st = statusOnDisk(t, h)
	if st["state"] != "running" || st["pid"] == nil || st["started_at"] == nil || st["last_error"] != nil || st["bus"] != "spidev0.0" || st["region_source"] == nil {
		t.Errorf("running: %v", st)
	}
	h.writeRegion("US915")
	_, _ = h.wait("US915", next, h.running("US915_SB2"))
	if st = statusOnDisk(t, h); st["region"] != "US915_SB2" || st["state"] != "running" {
		t.Errorf("after the change: %v", st)
	}
	h.stop()
	if st = statusOnDisk(t, h); st["state"] != "stopped" || st["pid"] != nil {
		t.Errorf("after shutdown: %v", st)
	}
}

// A reader polling in a tight loop never sees an empty or torn file while
// 1,000 updates go in.
func TestWriteFileAtomic_NeverTorn(t *testing.T) {
	dir := t.TempDir()
	diag := filepath.Join(dir, "diagnostics")
	status := filepath.Join(dir, "status.json")
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = 'x'
	}
	contents := map[string][2][]byte{
		diag:   {[]byte("true"), []byte("false")},
		status: {[]byte(`{"state":"running"}`), append(append([]byte(`{"state":"backoff","pad":"`), big...), '"', '}')},
	}
	for p, c := range contents {
		if err := supervisor.WriteFileAtomic(p, c[1], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reads, bad int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for p, c := range contents {
				b, err := os.ReadFile(p)
				reads++
				if err != nil || string(b) != string(c[0]) && string(b) != string(c[1]) {
					bad++
				}
			}
		}
	}()
	for i := 0; i < 1000; i++ {
		for p, c := range contents {
			if err := supervisor.WriteFileAtomic(p, c[i%2], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if bad > 0 || reads == 0 {
		t.Errorf("%d of %d reads saw an empty or torn file", bad, reads)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

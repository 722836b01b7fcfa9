package supervisor_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/internal/safefile"
	"pktfwd/supervisor"
)

// fakeForwarder is the simulated lora_pkt_fwd, built once by TestMain.
var fakeForwarder string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pktfwd-fake")
	if err != nil {
		panic(err)
	}
	fakeForwarder = filepath.Join(dir, "lora_pkt_fwd")
	if out, err := exec.Command("go", "build", "-o", fakeForwarder, "pktfwd/internal/fakefwd/lora_pkt_fwd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the fake forwarder: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// event is one status write with the diagnostics file as it was then.
type event struct {
	supervisor.Status
	diag string
}

type harness struct {
	t    testing.TB
	dir  string
	cfg  supervisor.Config
	opt  supervisor.Options
	logs *logtest.Hook
	sup  *supervisor.Supervisor

	mu      sync.Mutex
	events  []event // the latest events; events[0] is event number base
	base    int
	changed chan struct{}

	cancel context.CancelFunc
	done   chan error
}

// newHarness prepares a supervisor on a simulated SX1302 with short timings;
// edit h.cfg and h.opt before h.start().
func newHarness(t testing.TB) *harness {
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, changed: make(chan struct{}, 1)}
	port := startAckServer(t, true).port() // the simulated forwarder speaks GWMP to it
	for _, d := range []string{"root", "var", "sx1302"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	if err := os.Symlink(fakeForwarder, filepath.Join(dir, "sx1302", "lora_pkt_fwd")); err != nil {
		t.Fatal(err)
	}
	h.cfg = supervisor.Config{
		Variant: "", SPIBus: "spidev0.0", Chip: "auto", ConcentratorInterface: "spi",
		RegionFilePath: filepath.Join(dir, "var", "region"), RegionPollInterval: time.Minute,
		DiagnosticsFilePath: filepath.Join(dir, "var", "diagnostics"), StatusFilePath: filepath.Join(dir, "var", "status.json"),
		RootDir: filepath.Join(dir, "root"), SX1302Forwarder: filepath.Join(dir, "sx1302", "lora_pkt_fwd"), SX1301Dir: filepath.Join(dir, "sx1301"),
		GatewayEUI: "AA555A0000000001", ServerAddress: "127.0.0.1", ServerPortUp: port, ServerPortDown: port,
		LoraPktFwdBeforeCheckSleepSeconds: 0.2, LoraPktFwdAfterSuccessSleepSeconds: 30, LoraPktFwdAfterFailureSleepSeconds: 0.05,
		LogLevel: "debug", LogFormat: "text",
	}
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	logger.AddHook(pokeHook{h.changed})
	h.logs = hook
	rec := &concentrator.SimRecorder{}
	h.opt = supervisor.Options{
		Log: logger, Version: "test",
		Lines:      &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power"), Step: time.Millisecond},
		OpenSPI:    simSPI(concentrator.NewSimCoreCell(0x10, 0x02, 0, true)),
		MaxBackoff: 200 * time.Millisecond, StopGrace: 2 * time.Second,
		OnStatus: h.record,
	}
	return h
}

func simSPI(c spi.Conn) func() (spi.Conn, io.Closer, error) {
	return func() (spi.Conn, io.Closer, error) { return c, nopCloser{}, nil }
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

func (h *harness) record(s supervisor.Status) {
	d, _ := safefile.Read(h.cfg.DiagnosticsFilePath, 16) // a FIFO there must not block the harness
	h.mu.Lock()
	h.events = append(h.events, event{s, string(d)})
	if len(h.events) > 4000 { // a soak makes millions; keep the latest
		h.events = append([]event(nil), h.events[2000:]...)
		h.base += 2000
	}
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *harness) start() {
	h.t.Helper()
	sup, err := supervisor.New(h.cfg, h.opt)
	if err != nil {
		h.t.Fatal(err)
	}
	h.sup = sup
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- sup.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop cancels the supervisor and waits for Run to return.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(15 * time.Second):
		h.t.Fatal("Run did not return within 15 s of cancel")
		return nil
	}
}

// wait returns the first status event at or after index from that
// satisfies ok, waiting for new events until the deadline.
func (h *harness) wait(what string, from int, ok func(event) bool) (event, int) {
	h.t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for i := from; ; {
		h.mu.Lock()
		for i = max(i, h.base); i < h.base+len(h.events); i++ {
			if e := h.events[i-h.base]; ok(e) {
				h.mu.Unlock()
				return e, i + 1
			}
		}
		h.mu.Unlock()
		select {
		case <-h.changed:
		case <-deadline.C:
			h.t.Fatalf("timed out waiting for %s; last status %+v\nlog:\n%s", what, h.last(), h.logText())
		}
	}
}

// pokeHook wakes waiters on every log entry.
type pokeHook struct{ c chan struct{} }

func (pokeHook) Levels() []logrus.Level { return logrus.AllLevels }
func (p pokeHook) Fire(*logrus.Entry) error {
	select {
	case p.c <- struct{}{}:
	default:
	}
	return nil
}

// waitLog waits for the n-th log entry at level whose message contains s.
func (h *harness) waitLog(level logrus.Level, s string, n int) {
	h.t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		count := 0
		for _, e := range h.logs.AllEntries() {
			if e.Level == level && strings.Contains(e.Message, s) {
				count++
			}
		}
		if count >= n {
			return
		}
		select {
		case <-h.changed:
		case <-deadline.C:
			h.t.Fatalf("timed out waiting for %d %s log entries with %q; log:\n%s", n, level, s, h.logText())
		}
	}
}

// forget drops the recorded events but the last, so that a memory sample
// measures the supervisor rather than this harness.
func (h *harness) forget() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.events); n > 1 {
		h.base += n - 1
		h.events = append([]event(nil), h.events[n-1])
	}
}

func (h *harness) last() event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return event{}
	}
	return h.events[len(h.events)-1]
}

func (h *harness) snapshot() []event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]event(nil), h.events...)
}

func (h *harness) running(region string) func(event) bool {
	return func(e event) bool { return e.State == supervisor.StateRunning && e.Region == region }
}

func (h *harness) setMode(mode string) {
	if err := os.WriteFile(filepath.Join(h.cfg.RootDir, "fakefwd.mode"), []byte(mode), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// writeRegion replaces the region file atomically, as the miner does.
func (h *harness) writeRegion(v string) {
	tmp := h.cfg.RegionFilePath + ".tmp"
	if err := os.WriteFile(tmp, []byte(v), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.cfg.RegionFilePath); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) logText() string {
	var b strings.Builder
	for _, e := range h.logs.AllEntries() {
		fmt.Fprintf(&b, "%s %s %v\n", e.Level, e.Message, e.Data)
	}
	return b.String()
}

// logCount counts log entries whose message contains s.
func (h *harness) logCount(s string) int {
	n := 0
	for _, e := range h.logs.AllEntries() {
		if strings.Contains(e.Message, s) {
			n++
		}
	}
	return n
}

func (h *harness) globalConf() string {
	b, _ := os.ReadFile(filepath.Join(h.cfg.RootDir, "global_conf.json"))
	return string(b)
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// a zombie ("Z") has exited
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

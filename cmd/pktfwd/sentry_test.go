//go:build !nosentry

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"periph.io/x/conn/v3/spi"

	"pktfwd/concentrator"
	"pktfwd/supervisor"
)

// sentryServer is a local Sentry endpoint that decodes envelopes.
type sentryServer struct {
	mu          sync.Mutex
	events      []map[string]any
	attachments map[string]string
}

func (s *sentryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	br := bufio.NewReader(bytes.NewReader(body))
	br.ReadBytes('\n') // envelope header
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				break
			}
			continue
		}
		var item struct {
			Type     string `json:"type"`
			Length   int    `json:"length"`
			Filename string `json:"filename"`
		}
		json.Unmarshal(line, &item)
		var payload []byte
		if item.Length > 0 {
			payload = make([]byte, item.Length)
			io.ReadFull(br, payload)
		} else {
			payload, _ = br.ReadBytes('\n')
		}
		s.mu.Lock()
		switch item.Type {
		case "event":
			var ev map[string]any
			json.Unmarshal(payload, &ev)
			s.events = append(s.events, ev)
		case "attachment":
			s.attachments[item.Filename] = string(payload)
		}
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func TestSentry_CrashLoopSendsOneTaggedEvent(t *testing.T) {
	srv := &sentryServer{attachments: map[string]string{}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	const key = "0123456789abcdef0123456789abcdef"
	dsn := strings.Replace(hs.URL, "http://", "http://"+key+"@", 1) + "/42"

	dir := t.TempDir()
	self, _ := os.Executable()
	os.MkdirAll(filepath.Join(dir, "sx1302"), 0o755)
	os.Symlink(self, filepath.Join(dir, "sx1302", "lora_pkt_fwd"))
	cfg := demoConfig(dir)
	cfg.SentryKey, cfg.Variant, cfg.BalenaDeviceUUID, cfg.BalenaAppName = dsn, "COMP-RAKHM", "uuid-1", "fleet-1"
	cfg.SPIBus, cfg.LoraPktFwdAfterFailureSleepSeconds, cfg.LoraPktFwdBeforeCheckSleepSeconds = "", 0.001, 0.2
	cfg.GatewayEUI = "AA555A0000000002"
	var logs bytes.Buffer
	log := newLogger(cfg, &syncWriter{w: &logs})
	rep, flush, err := newReporter(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	writeRegion(cfg.RegionFilePath, "EU868")
	os.MkdirAll(cfg.RootDir, 0o755)
	os.WriteFile(filepath.Join(cfg.RootDir, "fakefwd.mode"), []byte("crash"), 0o644)
	restarts := make(chan int, 1000)
	sup, err := supervisor.New(cfg, supervisor.Options{
		Log: log, Version: version, Reporter: rep, MaxBackoff: time.Millisecond,
		Lines:    &concentrator.Lines{Reset: (&concentrator.SimRecorder{}).Line("reset"), Step: time.Microsecond},
		OpenSPI:  func() (spi.Conn, io.Closer, error) { return concentrator.NewSimSX1301(), io.NopCloser(nil), nil },
		Env:      []string{"PKTFWD_SIMULATED_FORWARDER=1"},
		OnStatus: func(s supervisor.Status) { restarts <- s.Restarts },
	})
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(cfg.SX1301Dir, 0o755)
	os.Symlink(self, filepath.Join(cfg.SX1301Dir, "lora_pkt_fwd"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	for n := range restarts {
		if n >= 100 {
			break
		}
	}
	cancel()
	<-done
	flush(flushMax)

	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.events) != 1 {
		t.Fatalf("%d events over 100 exits, want 1", len(srv.events))
	}
	tags, _ := srv.events[0]["tags"].(map[string]any)
	for k, want := range map[string]string{"balena_id": "uuid-1", "balena_app": "fleet-1", "variant": "COMP-RAKHM", "chip": "sx1301", "region": "EU868_A", "version": version} {
		if tags[k] != want {
			t.Errorf("tag %s = %v, want %s (tags %v)", k, tags[k], want, tags)
		}
	}
	if !strings.Contains(srv.attachments["lora_pkt_fwd.log"], "failed to start the concentrator") {
		t.Errorf("attachment: %q", srv.attachments["lora_pkt_fwd.log"])
	}
	if strings.Contains(logs.String(), key) {
		t.Error("the DSN's key appears in the log")
	}
	if !strings.Contains(logs.String(), "exit code 1") {
		t.Error("the log does not show the exits")
	}
}

// startSentry serves a local Sentry endpoint and returns its DSN.
func startSentry(t *testing.T) (*sentryServer, string) {
	srv := &sentryServer{attachments: map[string]string{}}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, strings.Replace(hs.URL, "http://", "http://0123456789abcdef0123456789abcdef@", 1) + "/42"
}

// syncReporter sends each event before Report returns, so that the
// server sees every event the reporter lets through (Sentry's default
// transport would drop those beyond its queue of 30).
func syncReporter(t *testing.T, dsn string) *sentryReporter {
	var logs bytes.Buffer
	cfg := supervisor.Config{SentryKey: dsn, LogLevel: "info"}
	r, _, err := newSentryReporter(cfg, newLogger(cfg, &logs), sentry.NewHTTPSyncTransport())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *sentryServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// A crash loop whose messages differ only in temporary file names, pids,
// ports and addresses is one fault: one event, with the normalised text as
// its fingerprint so that Sentry groups later repeats into the same issue.
func TestSentry_RepeatsWithVaryingDetailsAreOneEvent(t *testing.T) {
	srv, dsn := startSentry(t)
	r := syncReporter(t, dsn)
	for i := 0; i < 100; i++ {
		r.Report(fmt.Errorf("rename /opt/.global_conf.json.tmp%d /opt/global_conf.json (pid %d, gateway 10.0.%d.7:%d, helium-miner:%d, at 0xc000%06x): read-only file system",
			100000+i*7919, 4000+i*13, i, 40000+i, 4467+i, i*4096), nil, nil)
	}
	if n := srv.count(); n != 1 {
		t.Fatalf("%d events for 100 repeats of one fault, want 1", n)
	}
	srv.mu.Lock()
	fp, _ := srv.events[0]["fingerprint"].([]any)
	srv.mu.Unlock()
	want := "rename /opt/.global_conf.json.tmp* /opt/global_conf.json (pid *, gateway <addr>, helium-miner:*, at 0x*): read-only file system"
	if len(fp) != 1 || fp[0] != want {
		t.Errorf("fingerprint %v, want [%s]", fp, want)
	}
}

func TestFaultFingerprint_KeepsDifferentFaultsApart(t *testing.T) {
	for _, pair := range [][2]string{
		{"lora_pkt_fwd exit code 1", "lora_pkt_fwd exit code 2"},
		{"lora_pkt_fwd exit code 1", "lora_pkt_fwd killed by signal: segmentation fault"},
		{"unexpected chip version 0x12 on /dev/spidev0.0", "unexpected chip version 0x10 on /dev/spidev0.0"},
		{"open /dev/spidev0.0: no such file or directory", "open /dev/spidev1.0: no such file or directory"},
		{"write /opt/global_conf.json: no space left on device", "write /var/pktfwd/status.json: no space left on device"},
	} {
		if a, b := faultFingerprint(pair[0]), faultFingerprint(pair[1]); a == b {
			t.Errorf("%q and %q share the fingerprint %q", pair[0], pair[1], a)
		}
	}
}

// A storm of distinct faults sends at most the hour's budget, and the
// memory of sent faults stays bounded.
func TestSentry_DistinctFaultsAreCappedAndRememberedBounded(t *testing.T) {
	srv, dsn := startSentry(t)
	r := syncReporter(t, dsn)
	for i := 0; i < 1000; i++ {
		r.Report(fmt.Errorf("fault %d of a storm", i), nil, nil)
	}
	if n := srv.count(); n != sentryPerHour {
		t.Errorf("%d events for 1000 distinct faults, want the cap of %d", n, sentryPerHour)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) > sentryMaxKeys || len(r.recent) > sentryPerHour {
		t.Errorf("remembers %d faults and %d send times, want at most %d and %d", len(r.sent), len(r.recent), sentryMaxKeys, sentryPerHour)
	}
}

func TestSentryReporter_AdmitOverTime(t *testing.T) {
	r := &sentryReporter{sent: map[string]time.Time{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !r.admit("a", t0) || r.admit("a", t0.Add(59*time.Minute)) || !r.admit("a", t0.Add(61*time.Minute)) {
		t.Error("a fault is not sent once per hour")
	}

	r = &sentryReporter{sent: map[string]time.Time{}}
	for i := 0; i < sentryPerHour; i++ {
		r.admit(fmt.Sprint("f", i), t0.Add(time.Duration(i)*time.Second))
	}
	if r.admit("one more", t0.Add(30*time.Minute)) {
		t.Error("the hour's budget is not enforced")
	}
	if !r.admit("one more", t0.Add(61*time.Minute)) {
		t.Error("the budget does not refill after an hour")
	}

	// The oldest fault is forgotten first when the memory is full.
	r = &sentryReporter{sent: map[string]time.Time{}}
	for i := 0; i <= sentryMaxKeys; i++ {
		r.recent = nil // budget aside
		r.admit(fmt.Sprint("k", i), t0.Add(time.Duration(i)*time.Second))
	}
	if _, ok := r.sent["k0"]; ok || len(r.sent) != sentryMaxKeys {
		t.Errorf("after %d faults: %d remembered, k0 remembered %v", sentryMaxKeys+1, len(r.sent), ok)
	}
	if _, ok := r.sent["k1"]; !ok {
		t.Error("k1 was forgotten before k0")
	}
}

func TestLoadConfig_BadSentryKeyIsNamedNotShown(t *testing.T) {
	t.Setenv("SPI_BUS", "spidev0.0")
	restoreEnv(t, "SENTRY_KEY")
	t.Setenv("SENTRY_PKTFWD", "not-a-dsn-secret")
	_, _, err := loadConfig(environ())
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "SENTRY_PKTFWD") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("got %v, want a configuration error naming SENTRY_PKTFWD (the name set) without its value", err)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// verdictText is a watchdog verdict as the supervisor words it, with the
// figures that differ from one verdict of the rule to the next.
func verdictText(i int) error {
	return fmt.Errorf("watchdog: stalled: no statistics block for %s (stat_interval 30s); %d/%d/%d PUSH_DATA sent", 5*time.Minute+time.Duration(i)*30*time.Second, 14+i, 16-i, 12+2*i)
}

// fingerprints are the distinct fingerprints of the events srv received.
func (s *sentryServer) fingerprints() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	fps := map[string]int{}
	for _, ev := range s.events {
		fps[fmt.Sprint(ev["fingerprint"])]++
	}
	return fps
}

// Five verdicts of one rule with different figures are one Sentry issue:
// their fingerprint is the rule, in one process and across five.
func TestSentry_OneIssuePerWatchdogRule(t *testing.T) {
	if dsn := os.Getenv("PKTFWD_TEST_SENTRY_DSN"); dsn != "" { // one of the five processes
		i, _ := strconv.Atoi(os.Getenv("PKTFWD_TEST_VERDICT"))
		r := syncReporter(t, dsn)
		r.Report(verdictText(i), map[string]string{ruleTag: "stalled", "chip": "sx1302"}, nil)
		return
	}
	srv, dsn := startSentry(t)
	r := syncReporter(t, dsn)
	for i := range 5 {
		r.Report(verdictText(i), map[string]string{ruleTag: "stalled"}, nil)
	}
	if fps := srv.fingerprints(); len(fps) != 1 || fps["[watchdog: stalled]"] != 1 {
		t.Errorf("5 verdicts of one rule in one process: fingerprints %v, want one event [watchdog: stalled]", fps)
	}
	r.Report(fmt.Errorf("watchdog: concentrator_wedged: SX1302 counter stuck at 1234"), map[string]string{ruleTag: "concentrator_wedged"}, nil)
	if fps := srv.fingerprints(); len(fps) != 2 {
		t.Errorf("a second rule: fingerprints %v, want its own", fps)
	}

	srv, dsn = startSentry(t)
	self, _ := os.Executable()
	for i := range 5 {
		cmd := exec.Command(self, "-test.run=^TestSentry_OneIssuePerWatchdogRule$")
		cmd.Env = append(os.Environ(), "PKTFWD_TEST_SENTRY_DSN="+dsn, fmt.Sprintf("PKTFWD_TEST_VERDICT=%d", i))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, out)
		}
	}
	if fps := srv.fingerprints(); len(fps) != 1 || fps["[watchdog: stalled]"] != 5 {
		t.Errorf("5 verdicts of one rule in five processes: fingerprints %v, want five events, all [watchdog: stalled]", fps)
	}
}

// silentServer accepts connections and never answers: a Sentry that is
// slow or gone behind a proxy. It counts the connections.
func silentServer(t *testing.T) (addr string, conns func() int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return len(held) }
}

// SIGTERM ends pktfwd within 6 s (README) even when the forwarder ignores
// SIGTERM (5 s to SIGKILL) and an event is still on its way to a Sentry
// that never answers: the flush gets what is left of the 6 s.
func TestSentry_SigtermWithinBoundWithSilentSentry(t *testing.T) {
	addr, conns := silentServer(t)
	self, _ := os.Executable()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sx1302"), 0o755)
	os.Symlink(self, filepath.Join(dir, "sx1302", "lora_pkt_fwd"))
	cfg := demoConfig(dir)
	writeRegion(cfg.RegionFilePath, "EU868")
	mode := filepath.Join(cfg.RootDir, "fakefwd.mode")
	os.MkdirAll(cfg.RootDir, 0o755)
	os.WriteFile(mode, []byte("crash"), 0o644) // an exit, reported to Sentry
	cmd := exec.Command(self)
	cmd.Env = append(pktfwdEnv(cfg), "PKTFWD_TEST_AS_PKTFWD=1", "PKTFWD_SIMULATED_FORWARDER=1", "LOGLEVEL=info",
		"SENTRY_KEY=http://0123456789abcdef0123456789abcdef@"+addr+"/42",
		"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS=0.1", "LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS=0.5",
		"GORACE=atexit_sleep_ms=0") // a -race build sleeps 1 s at exit by default
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitUntil := func(what string, ok func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("timed out waiting for %s:\n%s", what, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitUntil("an event sent to Sentry", func() bool { return conns() > 0 })
	os.WriteFile(mode, []byte("ignore-term"), 0o644)
	waitUntil("a forwarder that ignores SIGTERM, running", func() bool {
		return strings.Contains(stderr.String(), "concentrator started") // printed once SIGTERM is ignored
	})
	began := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	took := time.Since(began)
	t.Logf("SIGTERM to exit: %s", took.Round(time.Millisecond))
	if took > exitBound {
		t.Errorf("SIGTERM to exit took %s, want at most %s", took.Round(time.Millisecond), exitBound)
	}
	if took < 5*time.Second {
		t.Errorf("SIGTERM to exit took %s: the forwarder did not ignore SIGTERM, so this test did not test the bound", took)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d:\n%s", code, stderr.String())
	}
}

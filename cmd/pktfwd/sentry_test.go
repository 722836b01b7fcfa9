package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	flush()

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

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestLogs_JSONFormatCarriesFields(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(supervisor.Config{LogLevel: "info", LogFormat: "json"}, &buf)
	log.WithField("source", "lora_pkt_fwd").Info("INFO: [main] concentrator started")
	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil || entry["source"] != "lora_pkt_fwd" || entry["level"] != "info" {
		t.Errorf("entry %s: %v", buf.String(), err)
	}
}

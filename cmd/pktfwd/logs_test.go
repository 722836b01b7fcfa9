package main

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"testing"

	"pktfwd/supervisor"
)

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

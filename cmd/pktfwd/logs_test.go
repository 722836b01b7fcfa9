package main

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"pktfwd/supervisor"
)

func TestLogs_JSONFormatCarriesFields(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(supervisor.Config{LogLevel: "info", LogFormat: "json"}, &buf)
	log.WithField("source", "lora_pkt_fwd").Info("INFO: [main] concentrator started")
	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil || entry["source"] != "lora_pkt_fwd" || entry["level"] != "info" {
		t.Errorf("entry %s: %v", buf.String(), err)
	}
}

// restoreEnv puts the named variables back as they were when the test
// ends: loadConfig copies an alias (SENTRY_PKTFWD) into its variable
// (SENTRY_KEY), which t.Setenv on the alias does not undo, and a DSN left
// behind would reach the pktfwd processes later tests start.
func restoreEnv(t *testing.T, names ...string) {
	for _, n := range names {
		v, ok := os.LookupEnv(n)
		t.Cleanup(func() {
			if ok {
				os.Setenv(n, v)
			} else {
				os.Unsetenv(n)
			}
		})
	}
}

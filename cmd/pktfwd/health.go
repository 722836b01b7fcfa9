package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"pktfwd/supervisor"
)

// health is `pktfwd health`, for Docker's HEALTHCHECK: it reads
// STATUS_FILEPATH and succeeds only when a forwarder runs and its last
// report is fresh and healthy; otherwise it fails with one line saying why.
func health() error {
	cfg, _, _ := decodeEnv(environ()) // only the status path and refresh interval matter here
	b, err := os.ReadFile(cfg.StatusFilePath)
	if err != nil {
		return fmt.Errorf("unhealthy: cannot read the status file (STATUS_FILEPATH): %w; is pktfwd running?", err)
	}
	var st supervisor.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("unhealthy: %s is not valid JSON: %w", cfg.StatusFilePath, err)
	}
	if err := supervisor.Health(st, time.Now(), supervisor.Seconds(cfg.LoraPktFwdAfterSuccessSleepSeconds)); err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	what := "no statistics block yet"
	if r := st.Radio; r != nil && r.LastBlockAt != nil {
		what = fmt.Sprintf("last statistics block %s ago, watchdog %s", time.Since(*r.LastBlockAt).Round(time.Second), r.Watchdog.Verdict)
	}
	fmt.Printf("healthy: forwarder pid %d running on %s, %s\n", st.PID, st.Region, what)
	return nil
}

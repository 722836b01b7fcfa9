package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"pktfwd/internal/safefile"
	"pktfwd/supervisor"
)

// maxStatusSize bounds the read of status.json (a few kB in practice).
const maxStatusSize = 1 << 20

// healthCommand is `pktfwd health [--upstreams]`, for Docker's HEALTHCHECK:
// it reads STATUS_FILEPATH and succeeds only when a forwarder runs and its
// last report is fresh and healthy; otherwise it fails with one line saying
// why. With --upstreams it also fails while the upstream is lost.
func healthCommand(fs *flag.FlagSet) action {
	upstreams := fs.Bool("upstreams", false, "also fail while the upstream (the relay's primary upstream) is lost, a fault no restart mends")
	return func(context.Context, []string) error { return health(*upstreams) }
}

func health(upstreams bool) error {
	cfg, _, _ := decodeEnv(environ()) // only the status path and refresh interval matter here
	// safefile: a FIFO or a symlink to /dev/zero in its place fails at once
	// instead of hanging or reading without end.
	b, err := safefile.Read(cfg.StatusFilePath, maxStatusSize)
	if err != nil {
		return fmt.Errorf("unhealthy: cannot read the status file (STATUS_FILEPATH): %w; is pktfwd running?", err)
	}
	var st supervisor.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("unhealthy: %s is not valid JSON: %w", cfg.StatusFilePath, err)
	}
	judge := supervisor.Health
	if upstreams {
		judge = supervisor.HealthUpstreams
	}
	now := time.Now()
	if err := judge(st, now, supervisor.Seconds(cfg.LoraPktFwdAfterSuccessSleepSeconds)); err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	what := "no statistics block yet"
	if r := st.Radio; r != nil && r.LastBlockAgeSecs != nil {
		age := supervisor.Seconds(*r.LastBlockAgeSecs) + st.Age(now)
		what = fmt.Sprintf("last statistics block %s ago, watchdog %s, upstream %s", age.Round(time.Second), r.Watchdog.Verdict, r.Upstream.State)
	}
	fmt.Printf("healthy: forwarder pid %d running on %s, %s\n", st.PID, st.Region, what)
	return nil
}

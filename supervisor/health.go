package supervisor

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// healthMargin is the slack allowed on top of each expected interval: the
// status refresh, and 2.5 stat intervals between statistics blocks.
const healthMargin = 10 * time.Second

// Health tells whether st, read at now, shows a forwarder that runs (state
// running, its pid alive), a status written within refresh (the status
// refresh interval, LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS) and a recent,
// healthy radio report. The error says in one line why not.
func Health(st Status, now time.Time, refresh time.Duration) error {
	if st.State != StateRunning {
		why := ""
		if st.LastError != "" {
			why = ": " + st.LastError
		}
		return fmt.Errorf("the forwarder is not running (state %s)%s", st.State, why)
	}
	if st.PID <= 0 || !processAlive(st.PID) {
		return fmt.Errorf("the forwarder (pid %d) is gone but the status still says running", st.PID)
	}
	if age := now.Sub(st.UpdatedAt); age > refresh+healthMargin {
		return fmt.Errorf("status.json was last written %s ago (it is rewritten every %s): is pktfwd itself stuck?", age.Round(time.Second), refresh)
	}
	r := st.Radio
	if r == nil {
		return nil // no statistics yet from this supervisor version
	}
	switch r.Watchdog.Verdict {
	case verdictOK, verdictWaiting, verdictOff, "":
	default:
		return fmt.Errorf("watchdog: %s: %s", r.Watchdog.Verdict, r.Watchdog.Reason)
	}
	si := Seconds(r.StatIntervalSecs)
	if si <= 0 {
		return nil
	}
	last, what := st.StartedAt, "since the forwarder started"
	if r.LastBlockAt != nil {
		last, what = r.LastBlockAt, "since the last one"
	}
	if last != nil {
		if age := now.Sub(*last); age > time.Duration(stallFactor*float64(si))+healthMargin {
			return fmt.Errorf("no statistics block from the forwarder for %s %s (stat_interval %s)", age.Round(time.Second), what, si)
		}
	}
	return nil
}

// processAlive tells whether a process with pid exists (signal 0).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

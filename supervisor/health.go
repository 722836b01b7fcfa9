package supervisor

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"pktfwd/watchdog"
)

// healthMargin is the slack allowed on top of 2.5 stat intervals between
// statistics blocks.
const healthMargin = 10 * time.Second

// staleAfter is how many refresh intervals (LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS)
// may pass without a status write before status.json counts as stale: a
// pktfwd killed outright leaves "running" behind.
const staleAfter = 2

// Health tells whether st, read at now, shows a forwarder that runs (state
// running, its pid alive when the reader shares pktfwd's PID namespace), a
// status written within two refresh intervals, and a recent, healthy radio
// report. Ages come from the monotonic clock where the reader has it (the
// live status), else from the ages status.json carries plus the file's
// age on CLOCK_BOOTTIME (see Status.Age): no wall-clock step flips it. The
// error says in one line why not.
func Health(st Status, now time.Time, refresh time.Duration) error {
	if st.State != StateRunning {
		why := ""
		if st.LastError != "" {
			why = ": " + st.LastError
		}
		return fmt.Errorf("the forwarder is not running (state %s)%s", st.State, why)
	}
	if st.PIDNamespace == "" || st.PIDNamespace == pidNamespace() {
		if st.PID <= 0 || !processAlive(st.PID) {
			return fmt.Errorf("the forwarder (pid %d) is gone but the status still says running", st.PID)
		}
	}
	age := st.Age(now)
	if age > staleAfter*refresh {
		return fmt.Errorf("status.json was last written %s ago (it is rewritten every %s): is pktfwd itself stuck or gone?", age.Round(time.Second), refresh)
	}
	r := st.Radio
	if r == nil {
		return nil // no statistics yet from this supervisor version
	}
	switch r.Watchdog.Verdict {
	case verdictOff:
		return nil // WATCHDOG=false: the block age is not judged either
	case verdictOK, verdictWaiting, "":
	default:
		return fmt.Errorf("watchdog: %s: %s", r.Watchdog.Verdict, r.Watchdog.Reason)
	}
	si := Seconds(r.StatIntervalSecs)
	if si <= 0 || r.Watchdog.StallRuleOff != "" {
		return nil
	}
	limit := time.Duration(stallFactor*float64(si)) + healthMargin
	blockAge, ok := r.blockAge(now, age)
	what := "since the last one"
	if !ok {
		// No block yet: the concentrator's start may take up to the
		// watchdog's start limit before the stall clock runs.
		blockAge, ok = st.startedAge(now, age)
		what, limit = "since the forwarder started", limit+watchdog.DefaultStartLimit
	}
	if ok && blockAge > limit {
		return fmt.Errorf("no statistics block from the forwarder for %s %s (stat_interval %s)", blockAge.Round(time.Second), what, si)
	}
	return nil
}

// HealthUpstreams is Health, and also fails while the upstream (in relay
// mode the primary upstream) is lost: a fault that no restart of pktfwd
// mends, reported for dashboards (`pktfwd health --upstreams`).
func HealthUpstreams(st Status, now time.Time, refresh time.Duration) error {
	if err := Health(st, now, refresh); err != nil {
		return err
	}
	if r := st.Radio; r != nil && (r.Upstream.State == string(watchdog.StateLost) || r.Upstream.State == string(watchdog.StateDownlinkLost)) {
		return fmt.Errorf("upstream %s: %s", r.Upstream.State, r.Upstream.Reason)
	}
	return nil
}

// Age is how long ago st was written, read at now: on CLOCK_BOOTTIME when
// st carries it and the reader's clock is not behind it (the same boot),
// else by updated_at against the reader's wall clock. CLOCK_BOOTTIME is
// shared by every container of the host and never steps; the file's mtime
// would be on the wall clock like updated_at, and would also move with a
// copy or a touch.
func (st Status) Age(now time.Time) time.Duration {
	if st.UpdatedBoottimeSecs > 0 {
		if b := boottime(); b >= st.UpdatedBoottimeSecs {
			return time.Duration((b - st.UpdatedBoottimeSecs) * float64(time.Second))
		}
	}
	return now.Sub(st.UpdatedAt)
}

// blockAge is the age of the latest block: on the monotonic clock for the
// live status, else its age when written plus the file's age.
func (r *RadioStats) blockAge(now time.Time, fileAge time.Duration) (time.Duration, bool) {
	switch {
	case !r.lastBlock.IsZero():
		return now.Sub(r.lastBlock), true
	case r.LastBlockAgeSecs != nil:
		return Seconds(*r.LastBlockAgeSecs) + fileAge, true
	case r.LastBlockAt != nil: // written by an older pktfwd
		return now.Sub(*r.LastBlockAt), true
	}
	return 0, false
}

// startedAge is how long the forwarder has run, as blockAge.
func (st Status) startedAge(now time.Time, fileAge time.Duration) (time.Duration, bool) {
	switch {
	case !st.started.IsZero():
		return now.Sub(st.started), true
	case st.StartedAgeSecs != nil:
		return Seconds(*st.StartedAgeSecs) + fileAge, true
	case st.StartedAt != nil:
		return now.Sub(*st.StartedAt), true
	}
	return 0, false
}

// processAlive tells whether a process with pid exists (signal 0).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pktfwd/internal/safefile"
)

// State is where the supervisor is in its loop.
type State string

// The states, as status.json reports them.
const (
	StateStarting         State = "starting"
	StateWaitingForSPI    State = "waiting_for_spi"
	StateWaitingForGPIO   State = "waiting_for_gpio" // a reset line cannot be requested or driven
	StateWaitingForUSB    State = "waiting_for_usb"  // the USB concentrator's device is missing
	StateWaitingForRegion State = "waiting_for_region"
	StateStartingFwd      State = "starting_forwarder"
	StateRunning          State = "running"
	StateBackoff          State = "backoff"
	StateStopping         State = "stopping"
	StateStopped          State = "stopped"
)

// Status is the content of status.json. Other containers read it.
type Status struct {
	State        State      `json:"state"`
	Chip         string     `json:"chip,omitempty"`
	ChipVersion  string     `json:"chip_version,omitempty"`
	ChipDecided  string     `json:"chip_decided,omitempty"`
	Bus          string     `json:"bus,omitempty"`
	GatewayEUI   string     `json:"gateway_eui,omitempty"`
	Region       string     `json:"region,omitempty"`
	RegionSource string     `json:"region_source,omitempty"`
	Forwarder    string     `json:"forwarder,omitempty"`
	PID          int        `json:"pid,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	Restarts     int        `json:"restarts"`
	BackoffSecs  float64    `json:"backoff_seconds,omitempty"`
	LastExit     *Exit      `json:"last_exit,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	Version      string     `json:"version"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// UpdatedBoottimeSecs is CLOCK_BOOTTIME when the file was written: a
	// clock shared by every container of the host that no wall-clock step
	// moves, so a reader elsewhere can tell the file's age (Health).
	UpdatedBoottimeSecs float64 `json:"updated_boottime_seconds,omitempty"`
	// StartedAgeSecs is how long the forwarder had run when the file was
	// written (monotonic clock).
	StartedAgeSecs *float64 `json:"started_age_seconds,omitempty"`
	// PIDNamespace names pktfwd's PID namespace: Health checks PID only
	// from a reader in the same namespace.
	PIDNamespace string `json:"pid_namespace,omitempty"`

	Radio *RadioStats `json:"radio,omitempty"` // statistics and watchdog (watchdog.go)

	started time.Time // monotonic: when the forwarder started
}

// stamp sets the write time and the ages computed from the monotonic
// clock at now (which must carry a monotonic reading).
func (s *Status) stamp(now time.Time) {
	s.UpdatedAt = now.UTC()
	s.UpdatedBoottimeSecs = boottime()
	s.PIDNamespace = pidNamespace()
	s.StartedAgeSecs = nil
	if !s.started.IsZero() && s.PID > 0 {
		a := now.Sub(s.started).Seconds()
		s.StartedAgeSecs = &a
	}
	if s.Radio != nil && !s.Radio.lastBlock.IsZero() {
		r := *s.Radio // the status shares Radio with its readers: stamp a copy
		a := now.Sub(r.lastBlock).Seconds()
		r.LastBlockAgeSecs = &a
		s.Radio = &r
	}
}

// boottime reads CLOCK_BOOTTIME in seconds (0 if it cannot).
func boottime() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

// pidNamespace names this process's PID namespace, e.g. "pid:[4026531836]".
func pidNamespace() string {
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return ns
}

// statusFiles writes diagnostics and status.json atomically, without a
// sync (see durability). diagnostics is written when it changes, and
// rewritten when a refresh finds it deleted or altered.
// The Supervisor serialises every call (its mu).
type statusFiles struct {
	diagPath, statusPath string
	sync                 durability // what each write syncs: nothing while the supervisor runs
	diag                 *bool      // what diagnostics must say: the last value set, even if its write failed
	diagWritten          bool       // whether that value reached the file
	onStatus             func(Status)
}

// setDiagnostics writes "true" or "false" (no newline) when it changes,
// or when its last write failed. A failed write is retried by
// healDiagnostics too.
func (f *statusFiles) setDiagnostics(ok bool) error {
	if f.diag != nil && *f.diag == ok && f.diagWritten {
		return nil
	}
	f.diag, f.diagWritten = &ok, false
	if err := writeDiagnostics(f.diagPath, ok, f.sync); err != nil {
		return err
	}
	f.diagWritten = true
	return nil
}

// healDiagnostics rewrites the diagnostics file when it does not hold what
// it must (deleted, replaced, emptied by another program, or its last write
// failed). It is read safely: a FIFO put in its place is replaced, never
// read (a read would block the supervisor for ever).
func (f *statusFiles) healDiagnostics() (healed bool, err error) {
	if f.diag == nil {
		return false, nil
	}
	want := fmt.Sprint(*f.diag)
	if b, err := safefile.Read(f.diagPath, int64(len(want))); err == nil && string(b) == want {
		f.diagWritten = true
		return false, nil
	}
	if err := writeDiagnostics(f.diagPath, *f.diag, f.sync); err != nil {
		return true, err
	}
	f.diagWritten = true
	return true, nil
}

// writeDiagnostics writes the diagnostics file atomically. When that fails
// with false to write (a full disk has no room for the temporary file), it
// overwrites the file in place, and removes it if even that fails: a stale
// "true" must not outlive the forwarder.
func writeDiagnostics(path string, ok bool, d durability) error {
	err := writeCreatingDir(path, []byte(fmt.Sprint(ok)), d)
	if err == nil || ok {
		return err
	}
	if werr := overwrite(path, []byte("false")); werr != nil {
		os.Remove(path)
	}
	return err
}

// overwrite writes data over the existing file at path. O_NONBLOCK makes a
// FIFO without a reader an error instead of a wait.
func overwrite(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f *statusFiles) write(s Status) error {
	s.stamp(time.Now())
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	err = writeCreatingDir(f.statusPath, append(b, '\n'), syncNone)
	if err != nil && s.PID == 0 {
		// The old file may say running with a pid that is gone: no file
		// is the truth then (readers report "no status"), and removing it
		// needs no space. The next write puts it back.
		os.Remove(f.statusPath)
	}
	if f.onStatus != nil {
		f.onStatus(s)
	}
	return err
}

// writeCreatingDir writes path atomically, creating its directory if it
// went missing, with the syncs d asks for.
func writeCreatingDir(path string, data []byte, d durability) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the directory of %s: %w", path, err)
	}
	return writeAtomic(path, data, 0o644, d)
}

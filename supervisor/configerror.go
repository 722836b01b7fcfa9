package supervisor

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ConfigError is one problem with one variable: its name as the operator
// set it, the value (empty for secrets) and what is wrong or wanted.
type ConfigError struct {
	Variable string `json:"variable"`
	Value    string `json:"value,omitempty"`
	Reason   string `json:"reason"`
}

func (e ConfigError) Error() string {
	if e.Value == "" {
		return e.Variable + ": " + e.Reason
	}
	return fmt.Sprintf("%s=%q: %s", e.Variable, e.Value, e.Reason)
}

// ConfigErrors are every problem of a configuration, in the order of the
// Config fields (Sort), one per line.
type ConfigErrors []ConfigError

func (l ConfigErrors) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the errors by the position of their variable in Config, so
// the same configuration always reads the same; variables Config does not
// name go last, in their order.
func (l ConfigErrors) Sort() {
	sort.SliceStable(l, func(i, j int) bool { return fieldOrder(l[i].Variable) < fieldOrder(l[j].Variable) })
}

// maxValueLen bounds the value a ConfigError carries, so that a megabyte
// of garbage in a variable gives a readable message.
const maxValueLen = 80

// NewConfigError makes a ConfigError for the variable name of Config,
// keeping the value out when the field is secret and shortening a long one.
func NewConfigError(name, value, reason string) ConfigError {
	if f, ok := fieldByName(name); ok && f.Tag.Get("secret") == "true" {
		value = ""
	}
	if len(value) > maxValueLen {
		cut := maxValueLen
		for cut > 0 && !utf8.RuneStart(value[cut]) {
			cut--
		}
		value = value[:cut] + "…"
	}
	return ConfigError{Variable: name, Value: value, Reason: reason}
}

// configError is NewConfigError with the value c holds for name.
func (c Config) configError(name, reason string) ConfigError {
	return NewConfigError(name, c.valueOf(name), reason)
}

// valueOf formats the field of variable name as it would be written in
// the environment.
func (c Config) valueOf(name string) string {
	f, ok := fieldByName(name)
	if !ok {
		return ""
	}
	switch x := reflect.ValueOf(c).FieldByIndex(f.Index).Interface().(type) {
	case string:
		return x
	case time.Duration:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// HardwareErrors are the problems of the hardware settings (Hardware) as
// ConfigErrors, each given to the variable its message names first.
func (c Config) HardwareErrors() ConfigErrors {
	_, errs := c.Hardware()
	out := make(ConfigErrors, 0, len(errs))
	for _, err := range errs {
		msg := err.Error()
		name := firstVariableIn(msg)
		reason := msg
		if rest, ok := strings.CutPrefix(msg, name); ok && name != "" {
			if r, ok := strings.CutPrefix(rest, "="); ok {
				if q, err := strconv.QuotedPrefix(r); err == nil {
					r = r[len(q):]
				}
				rest = r
			}
			if r, ok := strings.CutPrefix(rest, ": "); ok {
				reason = r
			}
		}
		out = append(out, c.configError(name, reason))
	}
	return out
}

// firstVariableIn returns the Config variable that msg mentions first; of
// two at the same place the longer (RESET_PIN_OVERRIDE, not RESET_PIN).
func firstVariableIn(msg string) string {
	best, at := "", len(msg)
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Config{})) {
		name := f.Tag.Get("envconfig")
		if i := strings.Index(msg, name); name != "" && i >= 0 && (i < at || i == at && len(name) > len(best)) {
			best, at = name, i
		}
	}
	return best
}

func fieldByName(name string) (reflect.StructField, bool) {
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Config{})) {
		if f.Tag.Get("envconfig") == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func fieldOrder(name string) int {
	fields := reflect.VisibleFields(reflect.TypeOf(Config{}))
	for i, f := range fields {
		if f.Tag.Get("envconfig") == name {
			return i
		}
	}
	return len(fields)
}

// More states, written only by WriteExitStatus.
const (
	// StateConfigError: the configuration is invalid; config_errors says
	// why and the supervisor has exited (code 2).
	StateConfigError State = "config_error"
	// StateCrashed: the supervisor itself failed (a panic); last_error
	// says how.
	StateCrashed State = "crashed"
)

// exitStatus is status.json as the last words of a supervisor that exits
// before or without its loop: Status plus the configuration errors.
type exitStatus struct {
	Status
	ConfigErrors ConfigErrors `json:"config_errors,omitempty"`
}

// WriteExitStatus records an exit that the loop did not record: first
// diagnostics false, then status.json in state (StateConfigError or
// StateCrashed) with lastError; errs are the configuration errors, if any.
// Another container shows status.json, so it must say why nothing runs.
func WriteExitStatus(diagPath, statusPath string, state State, lastError string, errs ConfigErrors, version string) error {
	// Nothing rewrites these files until pktfwd starts again: they are
	// synced with their directory, to say why nothing runs after a power cut too.
	f := statusFiles{diagPath: diagPath, statusPath: statusPath, sync: syncAll}
	derr := f.setDiagnostics(false)
	b, err := json.MarshalIndent(exitStatus{
		Status:       Status{State: state, LastError: lastError, Version: version, UpdatedAt: time.Now().UTC()},
		ConfigErrors: errs,
	}, "", "  ")
	if err == nil {
		err = writeCreatingDir(statusPath, append(b, '\n'), f.sync)
	}
	if derr != nil {
		return derr
	}
	return err
}

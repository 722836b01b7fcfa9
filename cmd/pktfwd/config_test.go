package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// validEnv is a complete, valid environment that reads no file outside
// the test's directory.
func validEnv(t *testing.T) map[string]string {
	return map[string]string{"VARIANT": "COMP-RAKHM", "NEBRA_ENVVARS_DIR": t.TempDir()}
}

// configErrors loads env and returns its errors, failing the test when it
// loads, or fails with anything but a usage error holding ConfigErrors.
func configErrors(t *testing.T, env map[string]string) supervisor.ConfigErrors {
	t.Helper()
	_, _, err := loadConfig(env)
	var errs supervisor.ConfigErrors
	if !errors.Is(err, errUsage) || !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("got %v, want configuration errors (exit 2)", err)
	}
	return errs
}

func variables(errs supervisor.ConfigErrors) []string {
	var names []string
	for _, e := range errs {
		names = append(names, e.Variable)
	}
	return names
}

func TestLoadConfig_ReportsEveryProblemAtOnceInFieldOrder(t *testing.T) {
	env := map[string]string{
		"VARIANT": "COMP-RAKH", "REGION_POLL_INTERVAL": "soon", "SERVER_PORT_UP": "70000", "CHIP": "sx1304",
		"REGION_OVERRIDE": "CN779", "LOGLEVEL": "loud", "GATEWAY_EUI": "0000000000000000", "AWAIT_SYSTEM_SLEEP_SECONDS": "x",
		"NEBRA_ENVVARS_DIR": t.TempDir(),
	}
	errs := configErrors(t, env)
	// The order of the variables in the Config struct, i.e. the README table.
	want := []string{"VARIANT", "CHIP", "REGION_OVERRIDE", "REGION_POLL_INTERVAL", "GATEWAY_EUI", "SERVER_PORT_UP", "AWAIT_SYSTEM_SLEEP_SECONDS", "LOGLEVEL"}
	if got := variables(errs); !slices.Equal(got, want) {
		t.Errorf("variables %v, want %v", got, want)
	}
	for _, e := range errs {
		if e.Value != env[e.Variable] {
			t.Errorf("%s: value %q, want %q as set", e.Variable, e.Value, env[e.Variable])
		}
		if e.Reason == "" {
			t.Errorf("%s: no reason", e.Variable)
		}
	}
	for _, want := range []string{`VARIANT="COMP-RAKH"`, "COMP-RAKHM", `REGION_POLL_INTERVAL="soon"`, `SERVER_PORT_UP="70000"`, "CN779"} {
		if _, _, err := loadConfig(env); !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%s", want, err)
		}
	}
	// Stable: the same environment gives the same list every time (map
	// iteration order varies between calls).
	for range 20 {
		if again := configErrors(t, env); !slices.Equal(again, errs) {
			t.Fatalf("second load gave\n%v\nfirst\n%v", again, errs)
		}
	}
}

func TestLoadConfig_DefaultsAliasesAndFalse(t *testing.T) {
	env := validEnv(t)
	env["SX1301_DIR"] = "/firmware/sx1301"
	env["SENTRY_PKTFWD"] = "False"
	env["REGION_OVERRIDE"] = "None"
	env["GATEWAY_EUI"] = "  "
	env["ROOT_DIR"] = ""
	env["BALENA_ID"] = "abc123"
	c, _, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.SX1301Dir != "/firmware/sx1301" || c.SentryKey != "" || c.RegionOverride != "" || c.BalenaDeviceUUID != "abc123" || c.GatewayEUI != "" {
		t.Errorf("aliases: %+v", c)
	}
	if c.RootDir != "/opt" || c.RegionFilePath != "/var/pktfwd/region" || c.ServerPortUp != 1680 || c.RegionPollInterval != time.Minute ||
		c.LoraPktFwdAfterFailureSleepSeconds != 2 || c.SX1302Forwarder != "/opt/sx1302/lora_pkt_fwd" || c.DiagnosticsFilePath != "/var/pktfwd/diagnostics" {
		t.Errorf("defaults: %+v", c)
	}
	env["SX1301_LORA_PKT_FWD_DIR"] = "/opt/sx1301-new"
	if c, _, _ := loadConfig(env); c.SX1301Dir != "/opt/sx1301-new" {
		t.Errorf("the variable should win over its alias: %s", c.SX1301Dir)
	}
}

// Issue 12 item 11: loading never changes the process environment, also
// with aliases, hm-pktfwd's "False" and values that do not parse.
func TestLoadConfig_LeavesTheEnvironmentAlone(t *testing.T) {
	for k, v := range map[string]string{
		"SX1301_DIR": "/firmware/sx1301", "SENTRY_PKTFWD": "False", "REGION_OVERRIDE": "False", "BALENA_ID": "abc",
		"SERVER_PORT_UP": "not-a-port", "AWAIT_SYSTEM_SLEEP_SECONDS": "nan", "VARIANT": "None", "NEBRA_ENVVARS_DIR": t.TempDir(),
	} {
		t.Setenv(k, v)
	}
	before := os.Environ()
	loadConfig(environ())
	decodeEnv(environ())
	if after := os.Environ(); !slices.Equal(before, after) {
		t.Errorf("the environment changed:\nbefore %v\nafter  %v", before, after)
	}
}

// Issue 12 item 7, for every *_SECONDS number, every duration and every
// port of Config, including those added later: NaN, infinities, negative
// and absurd values are rejected, naming the variable.
func TestLoadConfig_RejectsInsaneNumbers(t *testing.T) {
	typ := reflect.TypeOf(supervisor.Config{})
	checked := 0
	for _, f := range reflect.VisibleFields(typ) {
		name := f.Tag.Get("envconfig")
		var bad []string
		switch {
		case f.Type == reflect.TypeOf(time.Duration(0)):
			bad = []string{"NaN", "nan", "Inf", "-Inf", "-1", "0", "-5m", "1e300", "8d", "700000", "1000h", "1e-10", "0.0009", "1ns", "999us"}
		case strings.HasSuffix(name, "_SECONDS"):
			bad = []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "-1", "-0.001", "1e9", "700000", "x", "1e-10", "0.0009"}
		case strings.Contains(name, "_PORT"):
			bad = []string{"0", "-1", "65536", "1e3", "x"}
		default:
			continue
		}
		checked++
		for _, v := range bad {
			env := validEnv(t)
			env[name] = v
			errs := configErrors(t, env)
			if len(errs) != 1 || errs[0].Variable != name || errs[0].Value != v {
				t.Errorf("%s=%s: got %v, want one error naming %s", name, v, errs, name)
			}
		}
	}
	if checked < 7 {
		t.Errorf("only %d variables checked: the field names changed?", checked)
	}
	env := validEnv(t)
	env["AWAIT_SYSTEM_SLEEP_SECONDS"], env["LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS"], env["SERVER_PORT_UP"] = "0", "604800", "65535"
	env["LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS"], env["REGION_POLL_INTERVAL"], env["SERVER_PORT_DOWN"] = "0.001", "10ms", "1"
	if _, _, err := loadConfig(env); err != nil {
		t.Errorf("the limits themselves: %v", err)
	}
}

// The status refresh is a ticker: 0 and anything below 0.01 s is refused
// by name with the accepted range (1e-10 used to pass and panic).
func TestLoadConfig_RefreshFloor(t *testing.T) {
	const name = "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS"
	for _, v := range []string{"0", "1e-10", "0.009"} {
		env := validEnv(t)
		env[name] = v
		errs := configErrors(t, env)
		if len(errs) != 1 || errs[0].Variable != name || !strings.Contains(errs[0].Reason, "0.01 to 604800 seconds") {
			t.Errorf("%s=%s: got %v, want one error naming %s and the accepted range", name, v, errs, name)
		}
	}
	env := validEnv(t)
	env[name] = "0.01"
	if _, _, err := loadConfig(env); err != nil {
		t.Errorf("the floor itself: %v", err)
	}
}

func TestLoadConfig_PollIntervalInSecondsOrDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"60": time.Minute, "0.5": 500 * time.Millisecond, " 2 ": 2 * time.Second, "1m": time.Minute, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond,
	} {
		env := validEnv(t)
		env["REGION_POLL_INTERVAL"] = in
		c, _, err := loadConfig(env)
		if err != nil || c.RegionPollInterval != want {
			t.Errorf("REGION_POLL_INTERVAL=%q: %v, %v; want %v", in, c.RegionPollInterval, err, want)
		}
	}
	env := validEnv(t)
	env["REGION_POLL_INTERVAL"] = "0.001"
	if errs := configErrors(t, env); errs[0].Variable != "REGION_POLL_INTERVAL" || !strings.Contains(errs[0].Reason, "10ms") {
		t.Errorf("1 ms: %v", errs)
	}
}

func TestLoadConfig_PythonLogLevels(t *testing.T) {
	for in, want := range map[string]logrus.Level{
		"CRITICAL": logrus.FatalLevel, "critical": logrus.FatalLevel, "FATAL": logrus.FatalLevel, "ERROR": logrus.ErrorLevel,
		"WARNING": logrus.WarnLevel, "WARN": logrus.WarnLevel, "warn": logrus.WarnLevel, "Info": logrus.InfoLevel,
		"DEBUG": logrus.DebugLevel, "NOTSET": logrus.DebugLevel, "trace": logrus.TraceLevel,
	} {
		env := validEnv(t)
		env["LOGLEVEL"] = in
		c, _, err := loadConfig(env)
		if err != nil {
			t.Errorf("LOGLEVEL=%s: %v", in, err)
			continue
		}
		if got := newLogger(c, os.Stderr).Level; got != want {
			t.Errorf("LOGLEVEL=%s: level %s, want %s", in, got, want)
		}
	}
	env := validEnv(t)
	env["LOGLEVEL"] = "VERBOSE"
	if errs := configErrors(t, env); errs[0].Variable != "LOGLEVEL" || !strings.Contains(errs[0].Reason, "CRITICAL") {
		t.Errorf("VERBOSE: %v", errs)
	}
}

// Errors name the variable as the operator set it: an alias when the
// value came through one. Secrets never appear.
func TestLoadConfig_ErrorsNameTheAliasAndHideSecrets(t *testing.T) {
	const secret = "s3cr3t-token"
	env := validEnv(t)
	env["SENTRY_PKTFWD"] = "https://" + secret + "@/nohost"
	errs := configErrors(t, env)
	if len(errs) != 1 || errs[0].Variable != "SENTRY_PKTFWD" || errs[0].Value != "" {
		t.Errorf("got %#v, want one error naming SENTRY_PKTFWD without its value", errs)
	}
	env["SENTRY_KEY"] = "also-" + secret
	_, _, err := loadConfig(env)
	if errs := configErrors(t, env); errs[0].Variable != "SENTRY_KEY" || strings.Contains(err.Error(), secret) {
		t.Errorf("SENTRY_KEY wins over its alias and is not shown: %v", err)
	}

	// Every alias: an error about the variable is reported under the alias
	// that set it, with the value as written.
	for alias, name := range aliases {
		src := sources{setBy: map[string]string{name: alias}, raw: map[string]string{name: "as-written"}}
		got := src.attribute(supervisor.ConfigErrors{supervisor.NewConfigError(name, "normalised", "bad")})
		want := supervisor.NewConfigError(name, "as-written", "bad")
		want.Variable = alias
		if got[0] != want {
			t.Errorf("%s: got %#v, want %#v", alias, got[0], want)
		}
	}
}

func TestLoadConfig_LongValuesAreShortened(t *testing.T) {
	env := validEnv(t)
	env["CHIP"] = strings.Repeat("é", 1<<16)
	errs := configErrors(t, env)
	if n := len(errs[0].Error()); n > 300 {
		t.Errorf("an error of %d bytes for a 128 KiB value", n)
	}
}

// hm-pktfwd's fallback: VARIANT from NEBRA_ENVVARS_DIR/VARIANT when the
// variable is unset; the variable wins; the file is read safely.
func TestLoadConfig_VariantFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "VARIANT"), []byte("COMP-SENSECAPM1\n"), 0o644)
	c, src, err := loadConfig(map[string]string{"NEBRA_ENVVARS_DIR": dir, "VARIANT": "False"})
	if err != nil || c.Variant != "COMP-SENSECAPM1" || src.variantFile != filepath.Join(dir, "VARIANT") {
		t.Errorf("from the file: %q from %q, %v", c.Variant, src.variantFile, err)
	}
	if c, src, _ := loadConfig(map[string]string{"NEBRA_ENVVARS_DIR": dir, "VARIANT": "COMP-RAKHM"}); c.Variant != "COMP-RAKHM" || src.variantFile != "" {
		t.Errorf("the variable should win: %q from %q", c.Variant, src.variantFile)
	}
	if c, _, _ := loadConfig(map[string]string{"NEBRA_ENVVARS_DIR": t.TempDir()}); c.Variant != "" {
		t.Errorf("no file, no variable: %q", c.Variant)
	}

	// A bad name in the file says where it came from.
	os.WriteFile(filepath.Join(dir, "VARIANT"), []byte("COMP-NOPE"), 0o644)
	errs := configErrors(t, map[string]string{"NEBRA_ENVVARS_DIR": dir})
	if errs[0].Variable != "VARIANT" || errs[0].Value != "COMP-NOPE" || !strings.Contains(errs[0].Reason, filepath.Join(dir, "VARIANT")) {
		t.Errorf("bad name in the file: %v", errs)
	}
}

func TestLoadConfig_VariantFileIsReadSafely(t *testing.T) {
	special := map[string]func(path string) error{
		"fifo":             func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"directory":        func(p string) error { return os.Mkdir(p, 0o755) },
		"link to a device": func(p string) error { return os.Symlink("/dev/zero", p) },
		"too large":        func(p string) error { return os.WriteFile(p, make([]byte, variantFileLimit+1), 0o644) },
	}
	for what, create := range special {
		dir := t.TempDir()
		if err := create(filepath.Join(dir, "VARIANT")); err != nil {
			t.Fatal(err)
		}
		done := make(chan supervisor.ConfigErrors, 1)
		go func() {
			_, _, err := loadConfig(map[string]string{"NEBRA_ENVVARS_DIR": dir})
			var errs supervisor.ConfigErrors
			errors.As(err, &errs)
			done <- errs
		}()
		select {
		case errs := <-done:
			if len(errs) == 0 || errs[0].Variable != "VARIANT" || !strings.Contains(errs[0].Reason, filepath.Join(dir, "VARIANT")) {
				t.Errorf("%s: got %v, want an error on VARIANT naming the file", what, errs)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: loading the configuration hangs", what)
		}
	}
}

// The decoder reads every field of Config: its default parses, so a field
// of a type it cannot read fails here, not in production.
func TestDecodeEnv_EveryDefaultParses(t *testing.T) {
	c, _, errs := decodeEnv(map[string]string{"NEBRA_ENVVARS_DIR": t.TempDir()})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if math.IsNaN(c.AwaitSystemSleepSeconds) || c.LogLevel != "DEBUG" || c.NebraEnvvarsDir == "" {
		t.Errorf("%+v", c)
	}
}

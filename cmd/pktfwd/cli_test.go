package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pktfwd/supervisor"
)

// pktfwd runs this test binary as the pktfwd command with only the given
// environment (plus PATH and an empty NEBRA_ENVVARS_DIR) and returns its
// output and exit code.
func pktfwd(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append([]string{"PKTFWD_TEST_AS_PKTFWD=1", "PATH=" + os.Getenv("PATH"), "NEBRA_ENVVARS_DIR=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("pktfwd %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// The commands and flags every help must list; written out here, not
// taken from the code, so that a command or flag dropped from the help
// fails the test.
var documented = map[string][]string{
	"run": nil, "demo": {"-keep", "-log"}, "detect": {"-spi", "-variant", "-json"},
	"render":  {"-region", "-chip", "-spi", "-usb", "-eui", "-server", "-port", "-out", "-overlay"},
	"regions": nil, "variants": nil, "reset": nil, "health": nil, "version": nil, "help": nil,
	"relay": {"-listen", "-upstreams", "-eui", "-keepalive", "-lost-after", "-report"},
}

func TestCLI_HelpListsEveryCommandAndFlag(t *testing.T) {
	if len(documented) != len(commands()) {
		t.Errorf("%d commands, %d documented here", len(commands()), len(documented))
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"-help"}} {
		out, errOut, code := pktfwd(t, nil, args...)
		if code != 0 || errOut != "" {
			t.Errorf("pktfwd %v: exit %d, stderr %q", args, code, errOut)
		}
		for cmd, flags := range documented {
			if !strings.Contains(out, "pktfwd "+cmd) {
				t.Errorf("pktfwd %v does not list %s", args, cmd)
			}
			for _, f := range flags {
				if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
					t.Errorf("pktfwd %v does not list %s %s", args, cmd, f)
				}
			}
		}
		for _, v := range []string{"VARIANT", "NEBRA_ENVVARS_DIR", "REGION_POLL_INTERVAL", "SX1301_DIR", "SENTRY_PKTFWD", "BALENA_ID"} {
			if !strings.Contains(out, v) {
				t.Errorf("pktfwd %v does not mention %s", args, v)
			}
		}
	}
	// Every flag each FlagSet defines is in its command's help.
	for _, c := range commands() {
		for _, args := range [][]string{{"help", c.name}, {c.name, "-h"}, {c.name, "--help"}} {
			if c.name == "help" && len(args) == 2 {
				continue // `pktfwd help -h` is the overview, checked above
			}
			out, errOut, code := pktfwd(t, nil, args...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "pktfwd "+c.name) {
				t.Errorf("pktfwd %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
			if c.name == "run" && !strings.Contains(out, "REGION_OVERRIDE") {
				t.Errorf("pktfwd %v does not list the variables that configure run", args)
			}
			fs, _ := c.flagSet()
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(out, "-"+f.Name) {
					t.Errorf("pktfwd %v does not list -%s", args, f.Name)
				}
			})
		}
	}
}

func TestCLI_FlagErrorsAndExtraArgumentsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"render", "--bogus"}, "-bogus"},
		{[]string{"render", "--region"}, "-region"},
		{[]string{"render", "--port", "http"}, "-port"},
		{[]string{"detect", "--spi"}, "-spi"},
		{[]string{"demo", "--keep=maybe"}, "-keep"},
		{[]string{"reset"}, "start|stop"},
		{[]string{"reset", "restart"}, "start|stop"},
		{[]string{"help", "frobnicate"}, "frobnicate"},
		{[]string{"frobnicate"}, "frobnicate"},
		{[]string{"render", "--region", "EU868", "extra", "--chip", "sx1301"}, "extra"},
	} {
		out, errOut, code := pktfwd(t, nil, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("pktfwd %v: exit %d, stderr %q, stdout %q; want 2 naming %s", tc.args, code, errOut, out, tc.want)
		}
	}
	for _, c := range commands() {
		args := []string{c.name, "extra1", "extra2"}
		if c.name == "reset" {
			args = []string{c.name, "start", "extra"}
		}
		_, errOut, code := pktfwd(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "extra") {
			t.Errorf("pktfwd %v: exit %d, stderr %q; want 2", args, code, errOut)
		}
	}
}

// One JSON document on stdout for every chip; SX1301's gateway ID, which
// the forwarder reads from local_conf.json, is merged in.
func TestCLI_RenderPrintsOneJSONDocument(t *testing.T) {
	for _, chip := range []string{"sx1301", "sx1302", "sx1303"} {
		out, errOut, code := pktfwd(t, nil, "render", "--region", "US915", "--chip", chip, "--eui", "aa555a0000000009")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", chip, code, errOut)
		}
		d := json.NewDecoder(strings.NewReader(out))
		var doc map[string]map[string]any
		if err := d.Decode(&doc); err != nil {
			t.Fatalf("%s: %v:\n%s", chip, err, out)
		}
		if _, err := d.Token(); err != io.EOF {
			t.Errorf("%s: more than one JSON document on stdout:\n%s", chip, out)
		}
		if got := doc["gateway_conf"]["gateway_ID"]; got != "AA555A0000000009" {
			t.Errorf("%s: gateway_ID %v", chip, got)
		}
		if strings.Contains(errOut, "placeholder") {
			t.Errorf("%s: placeholder warning with --eui: %s", chip, errOut)
		}
	}
	_, errOut, code := pktfwd(t, nil, "render", "--region", "EU868")
	if code != 0 || !strings.Contains(errOut, "placeholder") || !strings.Contains(errOut, "--eui") {
		t.Errorf("without --eui: exit %d, stderr %q; want a word that the ID is a placeholder", code, errOut)
	}
}

func TestCLI_RenderOutWritesEveryFile(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := pktfwd(t, nil, "render", "--region", "US915", "--chip", "sx1301", "--spi", "spidev1.2", "--eui", "aa555a0000000009", "--out", dir)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	g, _ := os.ReadFile(filepath.Join(dir, "global_conf.json"))
	l, _ := os.ReadFile(filepath.Join(dir, "local_conf.json"))
	if !strings.Contains(string(g), `"SX1301_conf"`) || !strings.Contains(string(l), `"gateway_ID": "AA555A0000000009"`) {
		t.Errorf("global:\n%s\nlocal:\n%s", g, l)
	}
}

// Issue 12 item 4: a configuration error exits 2 after writing diagnostics
// false over the last run's true, and status.json says what is wrong.
func TestCLI_ConfigErrorWritesFalseAndStatus(t *testing.T) {
	dir := t.TempDir()
	diag, status := filepath.Join(dir, "diagnostics"), filepath.Join(dir, "status", "status.json")
	os.WriteFile(diag, []byte("true"), 0o644) // left by the previous run
	_, errOut, code := pktfwd(t, []string{"DIAGNOSTICS_FILEPATH=" + diag, "STATUS_FILEPATH=" + status,
		"VARIANT=COMP-RAKHM", "SX1301_DIR=/opt/sx1301", "SERVER_PORT_UP=seventeen", "SENTRY_PKTFWD=not-a-dsn"})
	if code != 2 || !strings.Contains(errOut, `SERVER_PORT_UP="seventeen"`) || !strings.Contains(errOut, "SENTRY_PKTFWD") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if d, _ := os.ReadFile(diag); string(d) != "false" {
		t.Errorf("diagnostics %q after a configuration error, want false", d)
	}
	var s struct {
		State        supervisor.State        `json:"state"`
		LastError    string                  `json:"last_error"`
		ConfigErrors supervisor.ConfigErrors `json:"config_errors"`
	}
	b, _ := os.ReadFile(status)
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("status.json: %v\n%s", err, b)
	}
	want := supervisor.ConfigErrors{
		{Variable: "SERVER_PORT_UP", Value: "seventeen", Reason: "want a whole number"},
		{Variable: "SENTRY_PKTFWD", Reason: checkSentryKey("not-a-dsn")}, // this build's own reason (full or lean)
	}
	if s.State != supervisor.StateConfigError || !strings.Contains(s.LastError, "SERVER_PORT_UP") || len(s.ConfigErrors) != 2 ||
		s.ConfigErrors[0] != want[0] || s.ConfigErrors[1] != want[1] {
		t.Errorf("status.json:\n%s", b)
	}
}

// Under LOG_FORMAT=json every configuration error is one JSON log line
// with the fields variable, value and reason, and nothing else is printed.
func TestCLI_ConfigErrorsAsJSONLogLines(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := pktfwd(t, []string{"LOG_FORMAT=json", "LOGLEVEL=CRITICAL", "DIAGNOSTICS_FILEPATH=" + filepath.Join(dir, "d"),
		"STATUS_FILEPATH=" + filepath.Join(dir, "s.json"), "VARIANT=COMP-NOPE", "AWAIT_SYSTEM_SLEEP_SECONDS=NaN"})
	if code != 2 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(errOut))
	for sc.Scan() {
		var line struct{ Level, Msg, Variable, Value, Reason string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if line.Level != "error" || line.Reason == "" || line.Value == "" {
			t.Errorf("line %s", sc.Text())
		}
		got = append(got, line.Variable)
	}
	if strings.Join(got, ",") != "VARIANT,AWAIT_SYSTEM_SLEEP_SECONDS" {
		t.Errorf("variables %v, stderr:\n%s", got, errOut)
	}
}

// A panic in the supervisor writes diagnostics false and status crashed
// before the process dies of it.
func TestCLI_PanicWritesFalse(t *testing.T) {
	dir := t.TempDir()
	cfg := demoConfig(dir)
	os.MkdirAll(filepath.Dir(cfg.DiagnosticsFilePath), 0o755)
	os.WriteFile(cfg.DiagnosticsFilePath, []byte("true"), 0o644)
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(pktfwdEnv(cfg), "PKTFWD_TEST_PANIC_IN_LOOP=1", "NEBRA_ENVVARS_DIR="+dir)
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), "a bug in the loop") {
		t.Errorf("exit %d:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	if d, _ := os.ReadFile(cfg.DiagnosticsFilePath); string(d) != "false" {
		t.Errorf("diagnostics %q after a panic, want false", d)
	}
	var s supervisor.Status
	b, _ := os.ReadFile(cfg.StatusFilePath)
	if json.Unmarshal(b, &s); s.State != supervisor.StateCrashed || !strings.Contains(s.LastError, "a bug in the loop") {
		t.Errorf("status.json:\n%s", b)
	}
}

func TestCLI_DetectUSB(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ttyACM7")
	out, errOut, code := pktfwd(t, []string{"CONCENTRATOR_INTERFACE=usb", "USB_DEVICE=" + missing}, "detect")
	if code != 1 || !strings.Contains(out, "SX1302 family") || !strings.Contains(errOut, missing) || strings.Contains(errOut+out, "spidev") {
		t.Errorf("missing device: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = pktfwd(t, []string{"CONCENTRATOR_INTERFACE=usb", "USB_DEVICE=/dev/null"}, "detect", "--json")
	var got struct {
		Interface, Device, Family string
		Exists                    bool
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.Interface != "usb" || got.Device != "/dev/null" || !got.Exists || got.Family != "sx1302" {
		t.Errorf("present device: exit %d, %+v, stdout %q, stderr %q", code, got, out, errOut)
	}
}

// reset drives only GPIO lines: no SPI bus, no VARIANT needed; only the
// settings it uses are checked.
func TestCLI_ResetNeedsNoSPIBus(t *testing.T) {
	_, errOut, code := pktfwd(t, []string{"SERVER_PORT_UP=x"}, "reset", "stop")
	if code != 0 || !strings.Contains(errOut, "no reset line configured") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = pktfwd(t, []string{"CHIP=sx1304", "RESET_PIN=abc"}, "reset", "start")
	if code != 2 || !strings.Contains(errOut, `CHIP="sx1304"`) || !strings.Contains(errOut, `RESET_PIN="abc"`) || strings.Contains(errOut, "SPI") {
		t.Errorf("bad reset settings: exit %d, stderr %q", code, errOut)
	}
}

// detect says where VARIANT came from when it is read from hm-pktfwd's
// file.
func TestCLI_DetectVariantFromFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "VARIANT"), []byte("COMP-RAKHM\n"), 0o644)
	_, errOut, _ := pktfwd(t, []string{"NEBRA_ENVVARS_DIR=" + dir, "RESET_GPIO=gpiochip99:1"}, "detect")
	if !strings.Contains(errOut, "VARIANT COMP-RAKHM, read from "+filepath.Join(dir, "VARIANT")) {
		t.Errorf("stderr %q", errOut)
	}
}

// LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=1e-10 passed validation and the
// status ticker panicked in its goroutine; now the process refuses it.
func TestCLI_TinyIntervalIsRefusedNotAPanic(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := pktfwd(t, []string{"DIAGNOSTICS_FILEPATH=" + filepath.Join(dir, "d"), "STATUS_FILEPATH=" + filepath.Join(dir, "s.json"),
		"VARIANT=COMP-RAKHM", "AWAIT_SYSTEM_SLEEP_SECONDS=0", "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=1e-10"})
	if code != 2 || !strings.Contains(errOut, "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS") || strings.Contains(errOut, "panic") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// A panic in code that runs outside the loop's goroutine (here the status
// refresh, every 0.05 s) writes diagnostics false and status crashed too.
func TestCLI_PanicOutsideTheLoopWritesFalse(t *testing.T) {
	self, _ := os.Executable()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sx1302"), 0o755)
	os.Symlink(self, filepath.Join(dir, "sx1302", "lora_pkt_fwd"))
	cfg := demoConfig(dir)
	writeRegion(cfg.RegionFilePath, "EU868")
	cmd := exec.Command(self)
	cmd.Env = append(pktfwdEnv(cfg), "PKTFWD_TEST_PANIC_IN_REFRESH=1", "PKTFWD_SIMULATED_FORWARDER=1", "NEBRA_ENVVARS_DIR="+dir,
		"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS=0.1", "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=0.05")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), "a bug outside the loop") || !strings.Contains(string(out), "refresh") {
		t.Errorf("exit %d, want the panic in the status refresh:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	if d, _ := os.ReadFile(cfg.DiagnosticsFilePath); string(d) != "false" {
		t.Errorf("diagnostics %q after a panic outside the loop, want false", d)
	}
	var s supervisor.Status
	b, _ := os.ReadFile(cfg.StatusFilePath)
	if json.Unmarshal(b, &s); s.State != supervisor.StateCrashed || !strings.Contains(s.LastError, "a bug outside the loop") {
		t.Errorf("status.json:\n%s", b)
	}
}

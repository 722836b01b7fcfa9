package supervisor_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pktfwd/supervisor"
)

// validConfig holds the defaults of the README's table and a variant.
func validConfig() supervisor.Config {
	return supervisor.Config{
		Variant: "COMP-RAKHM", ConcentratorInterface: "spi", Chip: "auto", RegionPollInterval: time.Minute,
		RootDir: "/opt", ServerAddress: "127.0.0.1", ServerPortUp: 1680, ServerPortDown: 1680,
		AwaitSystemSleepSeconds: 5, LoraPktFwdBeforeCheckSleepSeconds: 5, LoraPktFwdAfterSuccessSleepSeconds: 30,
		LoraPktFwdAfterFailureSleepSeconds: 2, LogLevel: "DEBUG", LogFormat: "text",
	}
}

func TestValidate_TypedErrorsInFieldOrder(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("the valid config: %v", err)
	}
	c := validConfig()
	c.LogFormat = "xml"
	c.ServerPortDown = 0
	c.LoraPktFwdAfterFailureSleepSeconds = math.NaN()
	c.AwaitSystemSleepSeconds = math.Inf(1)
	c.RegionPollInterval = -time.Second
	c.SX1261ResetGPIO = "-4"
	c.ResetPin = "abc"
	c.SentryKey = "secret-but-not-a-dsn"
	c.LoraPktFwdAfterSuccessSleepSeconds = 0
	c.GatewayEUI = "AA55"
	var errs supervisor.ConfigErrors
	if err := c.Validate(); !errors.As(err, &errs) {
		t.Fatalf("got %T %v, want ConfigErrors", err, err)
	}
	want := []string{"RESET_PIN", "SX1261_RESET_GPIO", "REGION_POLL_INTERVAL", "GATEWAY_EUI", "SERVER_PORT_DOWN", "AWAIT_SYSTEM_SLEEP_SECONDS",
		"LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS", "LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS", "LOG_FORMAT"} // SENTRY_KEY is checked by cmd/pktfwd, which has the Sentry client
	var got []string
	for _, e := range errs {
		got = append(got, e.Variable)
	}
	if !slices.Equal(got, want) {
		t.Errorf("variables %v, want %v", got, want)
	}
	if errs[0].Value != "abc" || strings.Contains(errs[0].Reason, `RESET_PIN="abc"`) {
		t.Errorf("RESET_PIN: %#v (the reason should not repeat the variable)", errs[0])
	}
	if strings.Contains(errs.Error(), "secret") {
		t.Errorf("the Sentry key appears: %v", errs)
	}
	if e := supervisor.NewConfigError("SENTRY_KEY", "secret-but-not-a-dsn", "not a DSN"); strings.Contains(e.Error(), "secret") || e.Value != "" {
		t.Errorf("a secret's value is kept: %#v", e)
	}
}

func TestWriteExitStatus_FalseThenStatus(t *testing.T) {
	dir := t.TempDir()
	diag, status := filepath.Join(dir, "diagnostics"), filepath.Join(dir, "new", "status.json")
	os.WriteFile(diag, []byte("true"), 0o644)
	errs := supervisor.ConfigErrors{supervisor.NewConfigError("SERVER_PORT_UP", "x", "want a whole number")}
	if err := supervisor.WriteExitStatus(diag, status, supervisor.StateConfigError, errs.Error(), errs, "v1"); err != nil {
		t.Fatal(err)
	}
	if d, _ := os.ReadFile(diag); string(d) != "false" {
		t.Errorf("diagnostics %q", d)
	}
	var s struct {
		supervisor.Status
		ConfigErrors supervisor.ConfigErrors `json:"config_errors"`
	}
	b, _ := os.ReadFile(status)
	if err := json.Unmarshal(b, &s); err != nil || s.State != "config_error" || s.Version != "v1" || s.LastError != `SERVER_PORT_UP="x": want a whole number` ||
		!slices.Equal(s.ConfigErrors, errs) || s.UpdatedAt.IsZero() {
		t.Errorf("status.json (%v):\n%s", err, b)
	}
}

//go:build nosentry

package main

import (
	"errors"
	"strings"
	"testing"
)

// The lean build refuses a Sentry DSN instead of ignoring it, under either
// name, without showing the value.
func TestLean_SentryKeyIsAConfigurationError(t *testing.T) {
	const dsn = "https://0123456789abcdef0123456789abcdef@sentry.example/42"
	t.Setenv("SPI_BUS", "spidev0.0")
	restoreEnv(t, "SENTRY_KEY")
	for _, name := range []string{"SENTRY_KEY", "SENTRY_PKTFWD"} {
		t.Run(name, func(t *testing.T) {
			restoreEnv(t, "SENTRY_KEY")
			t.Setenv(name, dsn)
			_, _, err := loadConfig(environ())
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "nosentry") {
				t.Fatalf("got %v, want a configuration error (exit 2) naming %s, as set, and the nosentry build", err, name)
			}
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("the error shows the DSN: %v", err)
			}
		})
	}
	t.Setenv("SENTRY_KEY", "False")
	if _, _, err := loadConfig(environ()); err != nil {
		t.Errorf("SENTRY_KEY=False (unset) is refused: %v", err)
	}
}

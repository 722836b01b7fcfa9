package main

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoadConfig: any values of the environment give a configuration or a
// usage error (exit 2), never a panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add("COMP-RAKHM", "EU868", "60s", "1680", "AA555A0000000001", "5", `{"a":1}`)
	f.Add("False", "False", "x", "-1", "0", "nan", "{")
	f.Fuzz(func(t *testing.T, variant, region, interval, port, eui, secs, overlay string) {
		for k, v := range map[string]string{"VARIANT": variant, "REGION_OVERRIDE": region, "REGION_POLL_INTERVAL": interval,
			"SERVER_PORT_UP": port, "GATEWAY_EUI": eui, "AWAIT_SYSTEM_SLEEP_SECONDS": secs, "GLOBAL_CONF_OVERLAY": overlay} {
			if strings.ContainsRune(v, 0) {
				t.Skip("an environment value cannot hold NUL")
			}
			t.Setenv(k, v)
		}
		if _, err := loadConfig(); err != nil && !errors.Is(err, errUsage) {
			t.Fatalf("not a usage error: %v", err)
		}
	})
}

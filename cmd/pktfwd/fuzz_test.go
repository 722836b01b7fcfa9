package main

import (
	"errors"
	"math"
	"strings"
	"testing"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/regions"
	"pktfwd/supervisor"
)

// FuzzLoadConfig: any values of the environment give either a config that
// holds sane numbers and renders, or configuration errors (exit 2) each
// naming a variable that was set — by the name it was set by, with the
// value as written — or that must be set. Never a panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add("COMP-RAKHM", "EU868", "60s", "1680", "AA555A0000000001", "5", `{"a":1}`, "/x", "")
	f.Add("False", "False", "x", "-1", "0", "nan", "{", "", "not-a-dsn")
	f.Add("COMP-RAKHM", "region_us915", "0.5", "1", "aa555a0000000001", "1e-3", `{"gateway_conf":{"x":1}}`, "None", "False")
	f.Add("COMP-RAKHM", "EU868", "0.001", "1680", "", "5", "", "", "https://k@sentry.example/1")
	f.Add("COMP-RAKHM", "EU868", "60", "1680", "", "NaN", "", "", "")
	noVariantFile := f.TempDir()
	f.Fuzz(func(t *testing.T, variant, region, interval, port, eui, secs, overlay, sx1301Dir, sentry string) {
		env := map[string]string{"VARIANT": variant, "REGION_OVERRIDE": region, "REGION_POLL_INTERVAL": interval,
			"SERVER_PORT_UP": port, "GATEWAY_EUI": eui, "AWAIT_SYSTEM_SLEEP_SECONDS": secs, "GLOBAL_CONF_OVERLAY": overlay,
			"SX1301_DIR": sx1301Dir, "SENTRY_PKTFWD": sentry, "NEBRA_ENVVARS_DIR": noVariantFile}
		c, _, err := loadConfig(env)
		if err != nil {
			var errs supervisor.ConfigErrors
			if !errors.Is(err, errUsage) || !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("not configuration errors: %v", err)
			}
			for _, e := range errs {
				set, ok := env[e.Variable]
				switch {
				case e.Reason == "":
					t.Errorf("%s: no reason", e.Variable)
				case !ok && e.Variable != "SPI_BUS":
					t.Errorf("%s was not set: %v", e.Variable, e)
				case e.Value != "" && !strings.HasPrefix(set, strings.TrimSuffix(e.Value, "…")):
					t.Errorf("%s: value %q, but it was set to %q", e.Variable, e.Value, set)
				}
			}
			return
		}
		if math.IsNaN(c.AwaitSystemSleepSeconds) || c.AwaitSystemSleepSeconds < 0 || c.RegionPollInterval <= 0 || c.ServerPortUp < 1 || c.ServerPortUp > 65535 {
			t.Fatalf("accepted insane numbers: %+v", c)
		}
		plan, _ := regions.Parse("EU868")
		if c.RegionOverride != "" {
			if plan, err = regions.Parse(c.RegionOverride); err != nil {
				t.Fatalf("accepted REGION_OVERRIDE=%q: %v", c.RegionOverride, err)
			}
		}
		hw, errs := c.Hardware()
		if len(errs) > 0 {
			t.Fatalf("accepted hardware with errors: %v", errs)
		}
		site := configs.Site{GatewayID: "AA555A0000000001", Server: c.ServerAddress, PortUp: c.ServerPortUp, PortDown: c.ServerPortDown, SPIPath: hw.Bus.Path()}
		if c.GatewayEUI != "" {
			if site.GatewayID, err = configs.ParseEUI(c.GatewayEUI); err != nil {
				t.Fatalf("accepted GATEWAY_EUI=%q: %v", c.GatewayEUI, err)
			}
		}
		for _, m := range []concentrator.Model{concentrator.SX1301, concentrator.SX1302} {
			files, err := configs.Render(m, plan, site)
			if err == nil && c.GlobalConfOverlay != "" {
				_, err = files.Overlay("GLOBAL_CONF_OVERLAY", []byte(c.GlobalConfOverlay))
			}
			if err != nil {
				t.Fatalf("an accepted configuration does not render for %s: %v", m, err)
			}
		}
	})
}

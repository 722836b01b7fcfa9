package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// aliases are older names that still set a variable: alias → name.
var aliases = map[string]string{
	"SX1301_DIR": "SX1301_LORA_PKT_FWD_DIR", "SENTRY_PKTFWD": "SENTRY_KEY", "BALENA_ID": "BALENA_DEVICE_UUID",
}

// unsetSpellings are hm-pktfwd's ways of writing "unset".
var unsetSpellings = map[string]bool{"False": true, "false": true, "None": true}

// loadConfig fills a Config from the environment and validates it,
// reporting every problem at once.
func loadConfig() (supervisor.Config, error) {
	c, errs := readEnv()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := checkSentryKey(c.SentryKey); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%w: configuration:\n  %s", errUsage, strings.ReplaceAll(errors.Join(errs...).Error(), "\n", "\n  "))
	}
	return c, nil
}

// readEnv fills a Config from the environment without validating it; the
// errors are the values that do not parse. The only environment changes it
// makes are to drop values that mean "unset" and those that do not parse
// (each reported), so the rest can still be read.
func readEnv() (supervisor.Config, []error) {
	var errs []error
	for _, name := range envNames() {
		if v, ok := os.LookupEnv(name); ok && unsetSpellings[strings.TrimSpace(v)] {
			os.Unsetenv(name)
		}
	}
	for alias, name := range aliases {
		if v, ok := os.LookupEnv(alias); ok && !unsetSpellings[v] {
			if _, set := os.LookupEnv(name); !set {
				os.Setenv(name, v)
			}
		}
	}
	var c supervisor.Config
	for i := 0; i < 64; i++ {
		err := envconfig.Process("", &c)
		var pe *envconfig.ParseError
		if !errors.As(err, &pe) {
			break
		}
		errs = append(errs, fmt.Errorf("%s=%q: want a %s", pe.KeyName, pe.Value, kind(pe.TypeName)))
		os.Unsetenv(pe.KeyName)
	}
	return c, errs
}

func kind(typeName string) string {
	switch typeName {
	case "Duration":
		return "duration such as 60s or 1m"
	case "float64":
		return "number of seconds such as 5 or 0.5"
	case "int":
		return "whole number"
	}
	return typeName
}

// envNames lists the variables of Config.
func envNames() []string {
	t := reflect.TypeOf(supervisor.Config{})
	names := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if n := t.Field(i).Tag.Get("envconfig"); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// newLogger applies LOGLEVEL and LOG_FORMAT.
func newLogger(c supervisor.Config, out io.Writer) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(out)
	if lvl, err := logrus.ParseLevel(c.LogLevel); err == nil {
		l.SetLevel(lvl)
	}
	if strings.EqualFold(c.LogFormat, "json") {
		l.SetFormatter(&logrus.JSONFormatter{})
	} else {
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	}
	return l
}

func help() error {
	fmt.Print(`pktfwd supervises lora_pkt_fwd on Helium hotspots.

Usage:
  pktfwd [run]            run the supervisor (configured by the environment below)
  pktfwd demo             run the real loop on a simulated concentrator and forwarder
  pktfwd detect           reset the concentrator and probe its chip  [--spi B] [--variant V] [--json]
  pktfwd render           print a config  --region PLAN --chip sx1301|sx1302|sx1303 [--spi B | --usb DEV] [--eui EUI] [--out DIR]
  pktfwd regions          list the region plans and their uplink channels
  pktfwd variants         list the hardware variants
  pktfwd reset start|stop reset the concentrator, or hold it in reset
  pktfwd version          print the version
  pktfwd help             this text

Aliases: SX1301_DIR for SX1301_LORA_PKT_FWD_DIR, SENTRY_PKTFWD for SENTRY_KEY,
BALENA_ID for BALENA_DEVICE_UUID. "False" counts as unset.

Environment:
`)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	if err := envconfig.Usagef("", &supervisor.Config{}, tw, envconfig.DefaultTableFormat); err != nil {
		return err
	}
	return tw.Flush()
}

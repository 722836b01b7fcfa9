//go:build nosentry

package main

import (
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// checkSentryKey rejects SENTRY_KEY: the lean build leaves out the Sentry
// client to save flash and RAM, and a DSN it would silently ignore is a
// configuration error (sentry.go is the full build's side).
func checkSentryKey(dsn string) (reason string) {
	if dsn == "" {
		return ""
	}
	return "set, but this pktfwd is the lean build (-tags nosentry) and has no Sentry client: " +
		"unset it, or use the full build; the value is not shown"
}

// sentryReporter is never created in the lean build.
type sentryReporter struct{}

var _ supervisor.Reporter = (*sentryReporter)(nil)

// newReporter returns no reporter; checkSentryKey has refused a DSN.
func newReporter(supervisor.Config, *logrus.Logger) (*sentryReporter, func(time.Duration), error) {
	return nil, func(time.Duration) {}, nil
}

// Report does nothing.
func (*sentryReporter) Report(error, map[string]string, []string) {}

// recoverAndReport does nothing: a panic goes its usual way.
func (*sentryReporter) recoverAndReport() {}

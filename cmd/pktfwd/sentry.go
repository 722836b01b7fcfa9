package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// sentryWindow is how long an error is not sent again: a crash loop sends
// one event per distinct error per hour.
const sentryWindow = time.Hour

// sentryReporter sends the errors that stop progress to Sentry, tagged,
// with the forwarder's last lines attached, rate-limited per error text.
type sentryReporter struct {
	hub    *sentry.Hub
	mu     sync.Mutex
	sent   map[string]time.Time
	window time.Duration
}

var _ supervisor.Reporter = (*sentryReporter)(nil)

// newReporter returns the Sentry reporter when SENTRY_KEY holds a DSN, and
// a flush to call on shutdown (at most 2 s). The DSN is never logged.
func newReporter(cfg supervisor.Config, log *logrus.Logger) (*sentryReporter, func(), error) {
	if cfg.SentryKey == "" {
		return nil, func() {}, nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn: cfg.SentryKey, Release: "pktfwd@" + version, AttachStacktrace: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: SENTRY_KEY is not a usable Sentry DSN (the value is not shown)", errUsage)
	}
	scope := sentry.NewScope()
	scope.SetTags(map[string]string{
		"balena_id": cfg.BalenaDeviceUUID, "balena_app": cfg.BalenaAppName, "variant": cfg.Variant, "version": version,
	})
	r := &sentryReporter{hub: sentry.NewHub(client, scope), sent: map[string]time.Time{}, window: sentryWindow}
	log.Info("Sentry error reports on")
	return r, func() { r.hub.Flush(2 * time.Second) }, nil
}

// Report sends err unless the same error went out within the window.
func (r *sentryReporter) Report(err error, tags map[string]string, lastLines []string) {
	key := err.Error()
	r.mu.Lock()
	if at, ok := r.sent[key]; ok && time.Since(at) < r.window {
		r.mu.Unlock()
		return
	}
	r.sent[key] = time.Now()
	r.mu.Unlock()
	r.hub.WithScope(func(scope *sentry.Scope) {
		for k, v := range tags {
			if v != "" {
				scope.SetTag(k, v)
			}
		}
		if len(lastLines) > 0 {
			scope.AddAttachment(&sentry.Attachment{Filename: "lora_pkt_fwd.log", ContentType: "text/plain",
				Payload: []byte(strings.Join(lastLines, "\n") + "\n")})
		}
		r.hub.CaptureException(err)
	})
}

// recoverAndReport reports a panic, flushes, and panics again.
func (r *sentryReporter) recoverAndReport() {
	if p := recover(); p != nil {
		if r != nil {
			r.hub.Recover(p)
			r.hub.Flush(2 * time.Second)
		}
		panic(p)
	}
}

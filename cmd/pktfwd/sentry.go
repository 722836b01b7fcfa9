//go:build !nosentry

package main

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// Limits that keep Sentry useful and cheap during a crash loop or a storm
// of distinct faults. sentry_nosentry.go is the lean build's side.
const (
	sentryWindow  = time.Hour // a fault is sent once per window
	sentryPerHour = 30        // events sent in any hour, all faults together
	sentryMaxKeys = 256       // faults remembered; the oldest is forgotten first
)

// ruleTag is the tag under which the supervisor names the watchdog rule
// (stalled, concentrator_wedged, upstream_lost, ...) of a verdict it reports.
const ruleTag = "watchdog"

// sentryReporter sends the errors that stop progress to Sentry, tagged,
// with the forwarder's last lines attached. One fault is one issue: a
// watchdog verdict's fingerprint is its rule, whatever figures its message
// holds; any other event's is the message with what varies between repeats
// (temporary file names, pids, ports, addresses) blanked out. A fault is
// sent at most once per window, within a global budget per hour.
type sentryReporter struct {
	hub *sentry.Hub

	mu     sync.Mutex
	sent   map[string]time.Time // fingerprint → when it was last sent
	recent []time.Time          // when the events of the last hour were sent, oldest first
}

var _ supervisor.Reporter = (*sentryReporter)(nil)

// checkSentryKey reports a SENTRY_KEY that is not a DSN, without showing it.
func checkSentryKey(dsn string) (reason string) {
	if dsn == "" {
		return ""
	}
	if _, err := sentry.NewDsn(dsn); err != nil {
		return "not a valid Sentry DSN (https://KEY@HOST/PROJECT); the value is not shown"
	}
	return ""
}

// newReporter returns the Sentry reporter when SENTRY_KEY holds a DSN, and
// a flush to call on shutdown, which waits at most the time it is given
// for the events queued to go out. The DSN is never logged.
func newReporter(cfg supervisor.Config, log *logrus.Logger) (*sentryReporter, func(time.Duration), error) {
	return newSentryReporter(cfg, log, nil)
}

// newSentryReporter is newReporter with a transport (nil: Sentry's
// default, which queues and sends in the background).
func newSentryReporter(cfg supervisor.Config, log *logrus.Logger, transport sentry.Transport) (*sentryReporter, func(time.Duration), error) {
	if cfg.SentryKey == "" {
		return nil, func(time.Duration) {}, nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn: cfg.SentryKey, Release: "pktfwd@" + version, AttachStacktrace: true, Transport: transport,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: SENTRY_KEY is not a usable Sentry DSN (the value is not shown)", errUsage)
	}
	scope := sentry.NewScope()
	scope.SetTags(map[string]string{
		"balena_id": cfg.BalenaDeviceUUID, "balena_app": cfg.BalenaAppName, "variant": cfg.Variant, "version": version,
	})
	r := &sentryReporter{hub: sentry.NewHub(client, scope), sent: map[string]time.Time{}}
	log.Info("Sentry error reports on")
	return r, func(d time.Duration) {
		if d > 0 {
			r.hub.Flush(d)
		}
	}, nil
}

// Report sends err unless the same fault went out within the window or the
// hour's budget is spent.
func (r *sentryReporter) Report(err error, tags map[string]string, lastLines []string) {
	fingerprint := faultFingerprint(err.Error())
	if rule := tags[ruleTag]; rule != "" {
		fingerprint = "watchdog: " + rule
	}
	if !r.admit(fingerprint, time.Now()) {
		return
	}
	r.hub.WithScope(func(scope *sentry.Scope) {
		for k, v := range tags {
			if v != "" {
				scope.SetTag(k, v)
			}
		}
		scope.SetFingerprint([]string{fingerprint})
		if len(lastLines) > 0 {
			scope.AddAttachment(&sentry.Attachment{Filename: "lora_pkt_fwd.log", ContentType: "text/plain",
				Payload: []byte(strings.Join(lastLines, "\n") + "\n")})
		}
		r.hub.CaptureException(err)
	})
}

// admit decides whether the fault may be sent now and records it if so.
func (r *sentryReporter) admit(fingerprint string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.sent[fingerprint]; ok && now.Sub(at) < sentryWindow {
		return false
	}
	for len(r.recent) > 0 && now.Sub(r.recent[0]) >= time.Hour {
		r.recent = r.recent[1:]
	}
	if len(r.recent) >= sentryPerHour {
		return false
	}
	if _, ok := r.sent[fingerprint]; !ok && len(r.sent) >= sentryMaxKeys {
		r.forgetOldest()
	}
	r.sent[fingerprint] = now
	r.recent = append(r.recent, now)
	return true
}

// forgetOldest drops the fault sent longest ago.
func (r *sentryReporter) forgetOldest() {
	var oldest string
	var at time.Time
	for k, t := range r.sent {
		if oldest == "" || t.Before(at) {
			oldest, at = k, t
		}
	}
	delete(r.sent, oldest)
}

// variableParts are the pieces of an error message that differ between
// repeats of one fault, with what stands in for them, applied in order.
var variableParts = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "<uuid>"}, // request ids
	{regexp.MustCompile(`\.tmp[0-9A-Za-z_-]+`), ".tmp*"},                                               // os.CreateTemp suffixes: .global_conf.json.tmp123456
	{regexp.MustCompile(`\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\](:\d+)?`), "<addr>"},                         // [::1]:4467
	{regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`), "<addr>"},                                 // 10.0.0.7:4467
	{regexp.MustCompile(`\b0x[0-9A-Fa-f]{5,}\b`), "0x*"},                                               // pointers, not register values such as 0x12
	{regexp.MustCompile(`(?i)\b(pid|process|port)( |=|: ?)\d+`), "$1$2*"},                              // pid 4242, port=1680
	{regexp.MustCompile(`([A-Za-z][A-Za-z0-9.-]*):\d{2,5}\b`), "$1:*"},                                 // helium-miner:4467
	{regexp.MustCompile(`/proc/\d+/`), "/proc/*/"},                                                     // /proc/4242/status
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)\b`), "*"},                                    // durations: after 1.234s
	{regexp.MustCompile(`\b\d{5,}\b`), "*"},                                                            // long numbers: timestamps, counters
}

// faultFingerprint is msg with its variable parts blanked out, so that the
// repeats of one fault share it and different faults do not.
func faultFingerprint(msg string) string {
	for _, v := range variableParts {
		msg = v.re.ReplaceAllString(msg, v.with)
	}
	return msg
}

// recoverAndReport reports a panic, flushes, and panics again.
func (r *sentryReporter) recoverAndReport() {
	if p := recover(); p != nil {
		if r != nil {
			r.hub.Recover(p)
			r.hub.Flush(flushMax)
		}
		panic(p)
	}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/relay"
	"pktfwd/supervisor"
)

// relayCommand is `pktfwd relay`: the GWMP relay alone, for a forwarder
// that pktfwd does not supervise (a standalone multiplexer, as Nebra's
// multiplexer container was) and for the benchmark. docs/relay.md.
func relayCommand(fs *flag.FlagSet) action {
	listen := fs.String("listen", "127.0.0.1:1681", "UDP address the forwarder sends to (:1681 to serve other containers, as Nebra's multiplexer did)")
	upstreams := fs.String("upstreams", "", "comma-separated HOST:PORT, the first one primary; uplink-only:HOST:PORT refuses that one's downlinks (default: UPSTREAMS)")
	eui := fs.String("eui", "", "the forwarder's gateway EUI, 16 hex digits; datagrams of other gateways are dropped (default: GATEWAY_EUI, else any)")
	keepalive := fs.Duration("keepalive", 10*time.Second, "how often each upstream gets the relay's own PULL_DATA")
	lostAfter := fs.Duration("lost-after", 300*time.Second, "an upstream that answers nothing this long is lost")
	report := fs.Duration("report", time.Minute, "log every upstream's figures this often (0: only at exit)")
	return func(ctx context.Context, _ []string) error {
		cfg, _, _ := decodeEnv(environ()) // LOGLEVEL, LOG_FORMAT, UPSTREAMS, GATEWAY_EUI
		if *upstreams == "" {
			*upstreams = cfg.Upstreams
		}
		if *eui == "" {
			*eui = cfg.GatewayEUI
		}
		rc, err := relayConfig(*listen, *upstreams, *eui)
		if err != nil {
			return err
		}
		log := newLogger(cfg, os.Stderr)
		rc.Keepalive, rc.LostAfter, rc.Reresolve = *keepalive, *lostAfter, 30*time.Second
		rc.Log = log.WithField("source", "relay")
		r, err := relay.Listen(rc)
		if err != nil {
			return fmt.Errorf("pktfwd relay --listen %s: %w", *listen, err)
		}
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		log.WithField("listen", r.Addr().String()).Infof("relaying from %s to %s", r.Addr(), *upstreams)
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		var tick <-chan time.Time
		if *report > 0 {
			t := time.NewTicker(*report)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-tick:
				logSnapshot(log, r.Snapshot())
			case err := <-done:
				logSnapshot(log, r.Snapshot())
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("the relay stopped: %w", err)
			}
		}
	}
}

// relayConfig checks the flags and makes the relay's configuration; each
// problem names its flag.
func relayConfig(listen, upstreams, eui string) (relay.Config, error) {
	var problems []string
	ups, errs := supervisor.ParseUpstreams(upstreams)
	for _, err := range errs {
		problems = append(problems, "--upstreams: "+err.Error())
	}
	if len(ups) == 0 && len(errs) == 0 {
		problems = append(problems, "--upstreams: none: name at least one HOST:PORT (or set UPSTREAMS)")
	}
	if len(ups) > supervisor.MaxUpstreams {
		problems = append(problems, fmt.Sprintf("--upstreams: %d entries, at most %d", len(ups), supervisor.MaxUpstreams))
	}
	rc := relay.Config{Listen: listen}
	if eui != "" {
		n, err := strconv.ParseUint(eui, 16, 64)
		if err != nil || len(eui) != 16 {
			problems = append(problems, fmt.Sprintf("--eui %q: want 16 hex digits, e.g. 00000A1B2C3D4E5F", eui))
		}
		rc.GatewayEUI = n
	}
	if len(problems) > 0 {
		return rc, fmt.Errorf("%w: pktfwd relay: %s", errUsage, strings.Join(problems, "; "))
	}
	for _, u := range ups {
		rc.Upstreams = append(rc.Upstreams, relay.Upstream{Name: u.Name(), Host: u.Host, PortUp: u.PortUp, PortDown: u.PortDown, UplinkOnly: u.UplinkOnly})
	}
	return rc, nil
}

// logSnapshot logs one line for the forwarder's side and one per upstream.
func logSnapshot(log *logrus.Logger, s relay.Snapshot) {
	f := s.Forwarder
	log.WithFields(logrus.Fields{"push_data": f.PushData, "pull_data": f.PullData, "tx_ack": f.TxAck, "dropped": f.Dropped}).Info("forwarder")
	for _, u := range s.Upstreams {
		log.WithFields(logrus.Fields{
			"upstream": u.Name, "address": u.Address, "state": string(u.State),
			"push_data_sent": u.PushSent, "push_data_acked": u.PushAcked, "rtt": u.RTT.String(),
			"pull_data_sent": u.PullSent, "pull_data_acked": u.PullAcked, "downlinks": u.Downlinks,
			"tx_ack": u.TxAck, "tx_ack_errors": u.TxAckErrors,
		}).Info("upstream")
	}
}

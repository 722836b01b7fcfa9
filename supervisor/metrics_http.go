//go:build !nometrics

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// checkMetricsAddr accepts METRICS_ADDR: this build has the HTTP endpoint.
func checkMetricsAddr(string) error { return nil }

// Bounds of the /metrics server, so that no client can take the file
// descriptors pktfwd needs for its own files (docs/metrics.md).
const (
	// maxMetricsConns is how many connections are served at once; one
	// more is accepted and closed at once.
	maxMetricsConns = 16
	// metricsIdle closes a keep-alive connection idle this long.
	metricsIdle = 30 * time.Second
	// metricsHeader closes a connection that has not sent a request's
	// headers this long after it opened or its last response.
	metricsHeader = 5 * time.Second
	// metricsIO bounds the read of a whole request and the write of a response.
	metricsIO = 10 * time.Second
)

// serveMetrics serves /metrics (Prometheus text exposition format 0.0.4)
// and /healthz on METRICS_ADDR until ctx ends. A listen error is logged
// once and the supervisor carries on without the endpoint.
func (s *Supervisor) serveMetrics(ctx context.Context) {
	l, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		s.log.Errorf("METRICS_ADDR=%s: cannot listen (%v); /metrics and /healthz are off", s.cfg.MetricsAddr, err)
		return
	}
	ln := &cappedListener{Listener: l, slots: make(chan struct{}, maxMetricsConns)}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(w, s.Status(), s.health())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: metricsHeader, ReadTimeout: metricsIO, WriteTimeout: metricsIO,
		IdleTimeout: metricsIdle, MaxHeaderBytes: 8 << 10}
	s.log.WithField("metrics_addr", ln.Addr().String()).Infof("serving /metrics and /healthz on %s", ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Errorf("metrics server: %v", err)
		}
	}()
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if srv.Shutdown(shut) != nil {
		srv.Close() // a response still being written after a second
	}
	<-done
}

// cappedListener serves at most cap(slots) connections at once and closes
// the ones beyond at once. netutil.LimitListener would leave them waiting
// in the kernel's queue, each to be served after one that idles for
// metricsIdle: 300 idle clients would then hold the slots for minutes.
type cappedListener struct {
	net.Listener
	slots chan struct{}
}

// Accept returns the next connection that fits under the cap.
func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &cappedConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
		default:
			c.Close()
		}
	}
}

// cappedConn gives its slot back when closed.
type cappedConn struct {
	net.Conn
	release func()
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

func (s *Supervisor) health() error {
	st := s.Status()
	st.UpdatedAt = time.Now() // the live status is always fresh
	return Health(st, time.Now(), Seconds(s.cfg.LoraPktFwdAfterSuccessSleepSeconds))
}

// Escapes of the text exposition format: a label value escapes
// backslash, double quote and line feed; a HELP text backslash and line
// feed. Nothing else is escaped (Go's %q would write \t or \x00).
var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// writeMetrics writes the status as Prometheus metrics. Totals are
// counters since pktfwd started; the latest block's figures are gauges.
func writeMetrics(w io.Writer, st Status, health error) {
	m := func(name, typ, help string, v float64, labels ...string) {
		writeFamily(w, name, typ, help, sample{labels, v})
	}
	b := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	m("pktfwd_info", "gauge", "Supervisor version, chip and region.", 1, "version", st.Version, "chip", st.Chip, "region", st.Region)
	m("pktfwd_forwarder_running", "gauge", "1 while the forwarder runs.", b(st.State == StateRunning && st.PID > 0))
	m("pktfwd_healthy", "gauge", "1 when pktfwd health would succeed.", b(health == nil))
	m("pktfwd_forwarder_restarts_total", "counter", "Forwarder restarts since pktfwd started.", float64(st.Restarts))
	writeRelayMetrics(w, st)
	r := st.Radio
	if r == nil {
		return
	}
	t := r.Total
	m("pktfwd_stat_blocks_total", "counter", "Statistics blocks read from the forwarder.", float64(t.Blocks))
	m("pktfwd_rx_packets_total", "counter", "RF packets received by the concentrator.", float64(t.Received))
	m("pktfwd_rx_crc_ok_packets_total", "counter", "RF packets received with a valid CRC.", float64(t.CRCOK))
	m("pktfwd_forwarded_packets_total", "counter", "RF packets forwarded upstream.", float64(t.Forwarded))
	m("pktfwd_push_data_sent_total", "counter", "PUSH_DATA datagrams sent.", float64(t.PushSent))
	m("pktfwd_push_data_acked_total", "counter", "PUSH_DATA datagrams acknowledged.", float64(t.PushAcked))
	m("pktfwd_pull_data_sent_total", "counter", "PULL_DATA datagrams sent.", float64(t.PullSent))
	m("pktfwd_pull_data_acked_total", "counter", "PULL_DATA datagrams acknowledged.", float64(t.PullAcked))
	m("pktfwd_downlinks_sent_total", "counter", "RF packets sent to the concentrator.", float64(t.Downlinks))
	m("pktfwd_tx_errors_total", "counter", "Downlinks that failed.", float64(t.TXErrors))
	m("pktfwd_stat_interval_seconds", "gauge", "gateway_conf.stat_interval of the running config.", r.StatIntervalSecs)
	if i := r.Interval; i != nil {
		m("pktfwd_interval_rx_packets", "gauge", "RF packets received in the latest stat interval.", float64(i.Received))
		m("pktfwd_interval_push_data_ack_ratio", "gauge", "Share of PUSH_DATA acknowledged in the latest stat interval.", i.PushAckPct/100)
	}
	if r.LastBlockAt != nil {
		m("pktfwd_last_stat_block_timestamp_seconds", "gauge", "When the latest statistics block arrived.", float64(r.LastBlockAt.UnixMilli())/1000)
	}
	if r.SX1302Counter != nil {
		m("pktfwd_sx1302_clock_seconds", "gauge", "The SX1302's 1 MHz counter in the latest block, in seconds (wraps at 2^32 µs).", float64(*r.SX1302Counter)/1e6)
	}
	if r.TemperatureC != nil {
		m("pktfwd_concentrator_temperature_celsius", "gauge", "Concentrator temperature in the latest block.", *r.TemperatureC)
	}
	m("pktfwd_watchdog_ok", "gauge", "0 while the watchdog holds a verdict against the forwarder.", b(r.Watchdog.At == nil), "verdict", r.Watchdog.Verdict)
	m("pktfwd_watchdog_restarts_total", "counter", "Forwarder restarts the watchdog caused.", float64(r.Watchdog.Restarts))
	writeWatchdogMetrics(w, st)
}

//go:build !nometrics

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// checkMetricsAddr accepts METRICS_ADDR: this build has the HTTP endpoint.
func checkMetricsAddr(string) error { return nil }

// serveMetrics serves /metrics (Prometheus text exposition format 0.0.4)
// and /healthz on METRICS_ADDR until ctx ends. A listen error is logged
// once and the supervisor carries on without the endpoint.
func (s *Supervisor) serveMetrics(ctx context.Context) {
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		s.log.Errorf("METRICS_ADDR=%s: cannot listen (%v); /metrics and /healthz are off", s.cfg.MetricsAddr, err)
		return
	}
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
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
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
	srv.Shutdown(shut)
	<-done
}

func (s *Supervisor) health() error {
	st := s.Status()
	st.UpdatedAt = time.Now() // the live status is always fresh
	return Health(st, time.Now(), Seconds(s.cfg.LoraPktFwdAfterSuccessSleepSeconds))
}

// writeMetrics writes the status as Prometheus metrics. Totals are
// counters since pktfwd started; the latest block's figures are gauges.
func writeMetrics(w io.Writer, st Status, health error) {
	m := func(name, typ, help string, v float64, labels ...string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s", name, help, name, typ, name)
		for i := 0; i+1 < len(labels); i += 2 {
			sep := ","
			if i == 0 {
				sep = "{"
			}
			fmt.Fprintf(w, "%s%s=%q", sep, labels[i], labels[i+1])
		}
		if len(labels) > 0 {
			io.WriteString(w, "}")
		}
		fmt.Fprintf(w, " %g\n", v)
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
		m("pktfwd_sx1302_counter", "gauge", "The SX1302's 1 MHz counter in the latest block.", float64(*r.SX1302Counter))
	}
	if r.TemperatureC != nil {
		m("pktfwd_concentrator_temperature_celsius", "gauge", "Concentrator temperature in the latest block.", *r.TemperatureC)
	}
	m("pktfwd_watchdog_ok", "gauge", "0 while the watchdog holds a verdict against the forwarder.", b(r.Watchdog.At == nil), "verdict", r.Watchdog.Verdict)
	m("pktfwd_watchdog_restarts_total", "counter", "Forwarder restarts the watchdog caused.", float64(r.Watchdog.Restarts))
	writeWatchdogMetrics(w, st)
}

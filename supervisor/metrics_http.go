//go:build !nometrics

package supervisor

import (
	"context"
	"errors"
	"fmt"
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

//go:build !nometrics

package supervisor_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"pktfwd/internal/testtool"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/supervisor"
)

// metricsBuilt tells the tests whether this build serves /metrics.
const metricsBuilt = true

// A METRICS_ADDR whose port is not 0 to 65535 is refused by name.
func TestValidate_MetricsAddrPort(t *testing.T) {
	for _, v := range []string{"127.0.0.1:99999", ":65536", ":-1", "127.0.0.1:", ":http", "localhost"} {
		c := validConfig()
		c.MetricsAddr = v
		var errs supervisor.ConfigErrors
		if !errors.As(c.Validate(), &errs) || len(errs) != 1 || errs[0].Variable != "METRICS_ADDR" || !strings.Contains(errs[0].Reason, "1 to 65535") {
			t.Errorf("METRICS_ADDR=%s: got %v, want one error naming METRICS_ADDR and the port range", v, errs)
		}
	}
	for _, v := range []string{"127.0.0.1:65535", ":9102", "[::1]:1", "127.0.0.1:0"} {
		c := validConfig()
		c.MetricsAddr = v
		if err := c.Validate(); err != nil {
			t.Errorf("METRICS_ADDR=%s: %v", v, err)
		}
	}
}

// The /metrics of a running supervisor, with a label value holding every
// character the format escapes, passes `promtool check metrics`: the
// exposition parses and no name breaks Prometheus's conventions.
func TestMetrics_PromtoolAcceptsTheExposition(t *testing.T) {
	promtool := testtool.Require(t, "promtool", "apt-get install prometheus; .ci/run does")
	h := newHarness(t)
	h.cfg.RegionOverride = "EU868"
	h.cfg.GlobalConfOverlay = `{"gateway_conf":{"stat_interval":1}}`
	h.cfg.Watchdog = true
	h.cfg.MetricsAddr = "127.0.0.1:0"
	h.opt.Version = "v1 \"quoted\" back\\slash\nnew line\ttab"
	h.start()
	h.wait("2 blocks while running", 0, func(e event) bool {
		return e.State == supervisor.StateRunning && e.Radio != nil && e.Radio.Total.Blocks >= 2
	})
	body := servedMetrics(t, h)
	want := `pktfwd_info{version="v1 \"quoted\" back\\slash\nnew line` + "\t" + `tab",chip="sx1302",region="EU868_A"} 1`
	if !strings.Contains(body, want) {
		t.Errorf("/metrics lacks the escaped label value %s:\n%s", want, body)
	}
	for _, name := range []string{"pktfwd_sx1302_clock_seconds", "pktfwd_concentrator_temperature_celsius", "pktfwd_rx_packets_total"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("/metrics lacks %s (the running supervisor's figures):\n%s", name, body)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\non:\n%s", err, out, body)
	}
}

// servedMetrics is the body of the supervisor's /metrics.
func servedMetrics(t *testing.T, h *harness) string {
	t.Helper()
	h.waitLog(logrus.InfoLevel, "serving /metrics", 1)
	var addr string
	for _, e := range h.logs.AllEntries() {
		if a, ok := e.Data["metrics_addr"].(string); ok {
			addr = a
		}
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	return string(b)
}

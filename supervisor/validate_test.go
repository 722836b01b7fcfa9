package supervisor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// An overlay that is valid for one plan and breaks another (a TX range
// above EU868's band) is refused with an error naming GLOBAL_CONF_OVERLAY,
// and the last good config stays on disk.
func TestRun_InvalidOverlayKeepsTheLastGoodConfig(t *testing.T) {
	h := newHarness(t)
	h.cfg.GlobalConfOverlay = `{"SX130x_conf":{"radio_0":{"tx_freq_min":900000000}}}`
	h.writeRegion("US915")
	h.start()
	_, next := h.wait("running on US915", 0, h.running("US915_SB2"))
	good := h.globalConf()
	if !strings.Contains(good, `"tx_freq_min": 900000000`) {
		t.Fatalf("the overlay is not in the US915 config:\n%s", good)
	}
	h.writeRegion("EU868")
	e, _ := h.wait("the overlay error", next, func(e event) bool { return strings.Contains(e.LastError, "GLOBAL_CONF_OVERLAY") })
	if !strings.Contains(e.LastError, "SX130x_conf.radio_0 TX range") {
		t.Errorf("last_error does not say what is wrong: %s", e.LastError)
	}
	if got := h.globalConf(); got != good {
		t.Errorf("global_conf.json changed after a refused overlay:\n%s", got)
	}
	h.waitLog(logrus.ErrorLevel, "GLOBAL_CONF_OVERLAY", 1)
}

// A maker template that the forwarders would refuse (an IF beyond the HAL
// limit) is refused before the forwarder sees it, naming the template.
func TestRun_InvalidMakerTemplateIsRefused(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.dir, "maker")
	os.MkdirAll(dir, 0o755)
	tmpl := `/* a maker's EU868 */ {"SX130x_conf": {"spidev_path": "/dev/spidev0.0",
		"radio_0": {"enable": true, "type": "SX1250", "freq": 867500000},
		"chan_multiSF_0": {"enable": true, "radio": 0, "if": 900000}},
		"gateway_conf": {"server_address": "multiplexer"}}`
	if err := os.WriteFile(filepath.Join(dir, "global_conf.json.EU868"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	h.cfg.SX1302RegionConfigsDir = dir
	h.writeRegion("EU868")
	h.start()
	e, _ := h.wait("the template error", 0, func(e event) bool { return strings.Contains(e.LastError, "global_conf.json.EU868") })
	if !strings.Contains(e.LastError, "chan_multiSF_0.if = 900000") {
		t.Errorf("last_error: %s", e.LastError)
	}
	if _, err := os.Stat(filepath.Join(h.cfg.RootDir, "global_conf.json")); err == nil {
		t.Errorf("the refused template was written:\n%s", h.globalConf())
	}
	if e.PID != 0 || e.diag == "true" {
		t.Errorf("a forwarder runs on a refused template: %+v", e)
	}
}

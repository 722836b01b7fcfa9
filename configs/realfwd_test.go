package configs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/internal/realfwd"
	"pktfwd/regions"
)

// realJob is one config to run through one real forwarder build.
type realJob struct {
	name  string
	build realfwd.Build
	files configs.Files
}

// runReal runs every job against its real build, eight at a time (the
// builds mostly wait on the missing concentrator), and returns the results
// in job order.
func runReal(t *testing.T, dir string, jobs []realJob) []realfwd.Result {
	t.Helper()
	results := make([]realfwd.Result, len(jobs))
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = realfwd.Run(context.Background(), dir, jobs[i].build, jobs[i].files, 20*time.Second)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s on %s: %v", jobs[i].name, jobs[i].build.Name, err)
		}
	}
	return results
}

func buildsFor(m concentrator.Model, usb bool) []realfwd.Build {
	var bs []realfwd.Build
	for _, b := range realfwd.Builds {
		if b.CoreCell == m.CoreCell() && (!usb || b.USB) {
			bs = append(bs, b)
		}
	}
	return bs
}

var models = []concentrator.Model{concentrator.SX1301, concentrator.SX1302, concentrator.SX1303}

// renderJobs: every plan × chip × interface on the builds that run it.
func renderJobs(t *testing.T) []realJob {
	var jobs []realJob
	for _, p := range regions.Plans() {
		for _, m := range models {
			ifaces := []configs.Site{site}
			if m.CoreCell() {
				usb := site
				usb.SPIPath, usb.USBPath = "", "/dev/ttyACM0"
				ifaces = append(ifaces, usb)
			}
			for _, s := range ifaces {
				fs, err := configs.Render(m, p, s)
				if err != nil {
					t.Fatalf("%s %s: %v", m, p.Name, err)
				}
				for _, b := range buildsFor(m, s.USBPath != "") {
					jobs = append(jobs, realJob{fmt.Sprintf("%s/%s/%s", p.Name, m, iface(s)), b, fs})
				}
			}
		}
	}
	return jobs
}

func iface(s configs.Site) string {
	if s.USBPath != "" {
		return "usb"
	}
	return strings.TrimPrefix(s.SPIPath, "/dev/")
}

// makerOverlays are calibration and antenna-gain overlays as makers set
// them in GLOBAL_CONF_OVERLAY.
var makerOverlays = map[bool]string{
	true: `{"SX130x_conf":{"antenna_gain":3,"radio_0":{"rssi_offset":-210.5,"rssi_tcomp":{"coeff_c":21.0},
		"tx_gain_lut":[{"rf_power":12,"pa_gain":0,"pwr_idx":15},{"rf_power":27,"pa_gain":1,"pwr_idx":22}]},
		"radio_1":{"rssi_offset":-210.5}}}`,
	false: `{"SX1301_conf":{"antenna_gain":2,"radio_0":{"rssi_offset":-166.0},"radio_1":{"rssi_offset":-166.0},
		"tx_lut_15":{"pa_gain":3,"mix_gain":14,"rf_power":27,"dig_gain":0}}}`,
}

// makerTemplate turns a rendered global_conf.json into what makers ship:
// comments, the server as "multiplexer", and for the SX1302 family only
// Helium's spidev_path (pktfwd injects the site's values again).
func makerTemplate(t *testing.T, m concentrator.Model, global []byte) []byte {
	t.Helper()
	s := string(global)
	s = strings.Replace(s, "{", "/* maker template, "+string(m)+" */\n{", 1)
	s = strings.Replace(s, `"gateway_conf": {`, `"gateway_conf": { // identity and server are replaced by pktfwd`, 1)
	s = strings.Replace(s, `"server_address": "127.0.0.1"`, `"server_address": "multiplexer"`, 1)
	if m.CoreCell() {
		s = strings.Replace(s, `"com_type": "SPI",`, "", 1)
		s = strings.Replace(s, `"com_path": "/dev/spidev0.0",`, "", 1)
	}
	return []byte(s)
}

// makerJobs: the makers' paths — an overlay with calibration and antenna
// gain, a maker template directory, and each variant's SPI bus.
func makerJobs(t *testing.T) []realJob {
	var jobs []realJob
	dir := t.TempDir()
	for _, name := range []string{"EU868", "US915", "AS923_1", "CN470", "EU433", "IN865"} {
		p, err := regions.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range models {
			fs, err := configs.Render(m, p, site)
			if err != nil {
				t.Fatal(err)
			}
			over, err := configs.ApplyOverlay(m, fs, "GLOBAL_CONF_OVERLAY", []byte(makerOverlays[m.CoreCell()]))
			if err != nil {
				t.Fatalf("%s %s overlay: %v", m, name, err)
			}
			mdir := filepath.Join(dir, string(m))
			os.MkdirAll(mdir, 0o755)
			if err := os.WriteFile(filepath.Join(mdir, "global_conf.json."+p.Name), makerTemplate(t, m, fs["global_conf.json"]), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(mdir, configs.TemplateFile(p.Name))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := configs.FromTemplate(path, data, m, site)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if err := configs.Validate(m, tmpl); err != nil {
				t.Fatalf("maker template %s: %v", path, err)
			}
			for _, b := range buildsFor(m, false) {
				jobs = append(jobs, realJob{fmt.Sprintf("%s/%s/overlay", name, m), b, over})
				jobs = append(jobs, realJob{fmt.Sprintf("%s/%s/maker-template", name, m), b, tmpl})
			}
		}
	}
	p, _ := regions.Parse("EU868")
	buses := map[string]bool{}
	for _, v := range concentrator.Variants() {
		buses[v.SPIBus] = true
	}
	for bus := range buses {
		b, err := concentrator.ParseBus(bus)
		if err != nil {
			t.Fatalf("variant bus %q: %v", bus, err)
		}
		s := site
		s.SPIPath = b.Path()
		for _, m := range models {
			fs, err := configs.Render(m, p, s)
			if err != nil {
				t.Fatal(err)
			}
			for _, fb := range buildsFor(m, false) {
				jobs = append(jobs, realJob{fmt.Sprintf("EU868/%s/%s", m, bus), fb, fs})
			}
		}
	}
	return jobs
}

// TestRealForwarders_AcceptEveryConfig renders every plan for every chip
// and interface, and the makers' paths, checks each with Validate, and runs
// each on every real build that would run it: each must get as far as
// starting the (missing) concentrator, with no other ERROR line.
func TestRealForwarders_AcceptEveryConfig(t *testing.T) {
	t.Parallel()
	dir := realfwd.Dir(t)
	jobs := append(renderJobs(t), makerJobs(t)...)
	for _, j := range jobs {
		m := concentrator.SX1301
		if j.build.CoreCell {
			m = concentrator.SX1302
		}
		if err := configs.Validate(m, j.files); err != nil {
			t.Errorf("%s: our validation rejects a rendered config: %v", j.name, err)
		}
	}
	start := time.Now()
	results := runReal(t, dir, jobs)
	accepted := map[string]int{}
	for i, r := range results {
		if !r.Accepted() {
			t.Errorf("%s rejected by %s: last line %q, unexpected errors %q\n%s", jobs[i].name, r.Build.Name, r.Last(), r.Unexpected(), r.Output)
			continue
		}
		accepted[r.Build.Name]++
	}
	var counts []string
	for b, n := range accepted {
		counts = append(counts, fmt.Sprintf("%s %d", b, n))
	}
	sort.Strings(counts)
	t.Logf("accepted configs per build (%d runs in %s): %s", len(jobs), time.Since(start).Round(time.Millisecond), strings.Join(counts, ", "))
	if len(accepted) != len(realfwd.Builds) {
		t.Errorf("only %d of %d builds ran", len(accepted), len(realfwd.Builds))
	}
}

// TestRealForwarders_USBNeedsLoraNet: the USB config is for Lora-net's
// 2.1.0 only; Helium's fork refuses it for want of spidev_path.
func TestRealForwarders_USBNeedsLoraNet(t *testing.T) {
	dir := realfwd.Dir(t)
	p, _ := regions.Parse("EU868")
	s := site
	s.SPIPath, s.USBPath = "", "/dev/ttyACM0"
	fs, err := configs.Render(concentrator.SX1302, p, s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := realfwd.Run(context.Background(), dir, realfwd.Builds[1], fs, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.Accepted() || !bytes.Contains([]byte(r.Output), []byte("spidev path must be configured")) {
		t.Errorf("Helium 1.0.5 on a USB config: %s", r.Output)
	}
}

// Command bench measures pktfwd as a fleet sees it, through its files:
// region change → new forwarder running, forwarder exit → diagnostics
// false, start → forwarder started, RSS and CPU idle and in a crash loop,
// and the stripped binary size per target. It also runs a polling baseline
// that behaves like hm-pktfwd (checks every 30 s) with the same simulated
// forwarder, and prints the ratios.
//
//	go run ./bench [-n 50] [-baseline-trials 3] [-window 10s]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 50, "trials per latency figure")
	baseline := flag.Int("baseline-trials", 3, "trials of the 30 s polling baseline (each takes up to 30 s; 0 skips it)")
	window := flag.Duration("window", 10*time.Second, "how long CPU is measured, idle and in a crash loop")
	flag.Parse()
	if err := run(*n, *baseline, *window); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, baselineTrials int, window time.Duration) error {
	dir, err := os.MkdirTemp("", "pktfwd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins, err := buildBinaries(dir)
	if err != nil {
		return err
	}
	fmt.Printf("pktfwd bench: %d trials, %s, Go %s, %d CPUs\n\n", n, runtime.GOOS+"/"+runtime.GOARCH, runtime.Version(), runtime.NumCPU())

	region, exit, err := measureLoop(bins, filepath.Join(dir, "loop"), n)
	if err != nil {
		return err
	}
	start, err := measureStart(bins, filepath.Join(dir, "start"), min(n, 20))
	if err != nil {
		return err
	}
	gw, err := measureGateway(bins, filepath.Join(dir, "gateway"), min(n, 20), 100*time.Millisecond)
	if err != nil {
		return err
	}
	idle, err := measureResources(bins, filepath.Join(dir, "idle"), "run", window)
	if err != nil {
		return err
	}
	crash, err := measureResources(bins, filepath.Join(dir, "crash"), "crash", window)
	if err != nil {
		return err
	}
	fmt.Println("latency                                          median       p99       max   target")
	row("region file change → new forwarder running", region, "<100ms median, <250ms p99")
	row("forwarder exit → diagnostics false", exit, "<50ms p99")
	row("supervisor start → forwarder started", start, "")
	row("gateway answer change → new forwarder (100ms poll)", gw, "")
	fmt.Println()
	fmt.Printf("supervisor idle (forwarder running):  RSS %5.1f MB (peak %.1f MB), CPU %.3f %% over %s   targets: <15 MB, <0.1 %%\n",
		idle.rssMB, idle.peakMB, idle.cpuPct, window)
	fmt.Printf("supervisor in a crash loop:           RSS %5.1f MB (peak %.1f MB), CPU %.3f %% over %s, %d restarts, %.1f ms CPU per restart   target: <2 %%\n",
		crash.rssMB, crash.peakMB, crash.cpuPct, window, crash.restarts, crash.cpuPerRestartMs)
	fmt.Println()
	if err := binarySizes(dir); err != nil {
		return err
	}
	if baselineTrials > 0 {
		fmt.Printf("\npolling baseline (hm-pktfwd's 30 s checks), %d trials each:\n", baselineTrials)
		bRegion, bExit, err := measureBaseline(bins, filepath.Join(dir, "baseline"), baselineTrials)
		if err != nil {
			return err
		}
		row("baseline: region change → new forwarder", bRegion, "")
		row("baseline: exit → diagnostics false", bExit, "")
		fmt.Printf("ratio (baseline median / pktfwd median): region change %.0f×, exit → diagnostics %.0f×\n",
			float64(median(bRegion))/float64(median(region)), float64(median(bExit))/float64(median(exit)))
	}
	return nil
}

type binaries struct{ pktfwd, forwarder string }

func buildBinaries(dir string) (binaries, error) {
	b := binaries{pktfwd: filepath.Join(dir, "pktfwd"), forwarder: filepath.Join(dir, "lora_pkt_fwd")}
	for out, pkg := range map[string]string{b.pktfwd: "./cmd/pktfwd", b.forwarder: "./internal/fakefwd/lora_pkt_fwd"} {
		if o, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg).CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s (run bench from the repository root): %v\n%s", pkg, err, o)
		}
	}
	return b, nil
}

func binarySizes(dir string) error {
	fmt.Println("stripped binary size (CGO off, -trimpath -s -w)        target: linux/arm64 <15 MB")
	for _, t := range []struct{ goos, goarch, goarm string }{{"linux", "arm64", ""}, {"linux", "arm", "7"}, {"linux", "arm", "6"}, {"linux", "amd64", ""}} {
		out := filepath.Join(dir, "size-"+t.goarch+t.goarm)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/pktfwd")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.goos, "GOARCH="+t.goarch, "GOARM="+t.goarm)
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("cross-build %s/%s: %v\n%s", t.goos, t.goarch, err, o)
		}
		st, _ := os.Stat(out)
		name := t.goos + "/" + t.goarch
		if t.goarm != "" {
			name += "/v" + t.goarm
		}
		fmt.Printf("  %-14s %6.2f MB (%d bytes)\n", name, float64(st.Size())/1e6, st.Size())
	}
	return nil
}

func row(name string, ds []time.Duration, target string) {
	fmt.Printf("%-50s %9s %9s %9s   %s\n", name, round(median(ds)), round(percentile(ds, 0.99)), round(percentile(ds, 1)), target)
}

func round(d time.Duration) string {
	if d > time.Second {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

// percentile uses the nearest-rank method.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

type status struct {
	State    string `json:"state"`
	Region   string `json:"region"`
	PID      int    `json:"pid"`
	Restarts int    `json:"restarts"`
}

func readStatus(path string) status {
	var s status
	b, _ := os.ReadFile(path)
	json.Unmarshal(b, &s)
	return s
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// Command relay measures `pktfwd relay` against the direct path in the same
// run, with the GWMP load generator gwmp-load.py (a Python standard-library
// script; docs/relay-bench.md says where it comes from). For each rate it
// runs the emulated forwarder straight into a sink (the direct baseline,
// the tool's own floor), then through a fresh `pktfwd relay` to the sinks,
// and, with -peer, through a fresh peer relay (ChirpStack's Go packet
// multiplexer v3.1.0, built by the operator; never part of this
// repository). It prints one Markdown table: loss, reordering, latency and
// the latency the relay adds, CPU and RSS of the relay.
//
//	go run ./bench/relay -load /path/to/gwmp-load.py [-rates 100,1000,5000] [-duration 20s] [-peer /path/to/chirpstack-packet-multiplexer]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	load := flag.String("load", os.Getenv("GWMP_LOAD"), "path of gwmp-load.py (default: GWMP_LOAD)")
	rates := flag.String("rates", "100,1000,5000", "uplinks (rxpk) per second, comma-separated")
	duration := flag.Duration("duration", 20*time.Second, "uplink traffic per run")
	backends := flag.Int("backends", 2, "upstreams (sinks) behind the relay")
	peer := flag.String("peer", "", "also measure this chirpstack-packet-multiplexer binary (v3.1.0, log_level 2)")
	pktfwd := flag.String("pktfwd", "", "the pktfwd binary to measure (default: built from this tree)")
	out := flag.String("out", "", "keep every run's gwmp-load JSON report in this directory")
	port := flag.Int("port", 23950, "first UDP port used on 127.0.0.1 (the next 4 are used too)")
	flag.Parse()
	if *load == "" {
		fmt.Fprintln(os.Stderr, "bench/relay: -load (or GWMP_LOAD) must name gwmp-load.py; see docs/relay-bench.md")
		os.Exit(2)
	}
	b := &bench{load: *load, duration: *duration, backends: *backends, peer: *peer, pktfwd: *pktfwd, dir: *out, port: *port}
	if err := b.run(os.Stdout, *rates); err != nil {
		fmt.Fprintln(os.Stderr, "bench/relay:", err)
		os.Exit(1)
	}
}

type bench struct {
	load, peer, pktfwd, dir string
	duration                time.Duration
	backends, port          int
}

// result is the part of a gwmp-load.py --json report the table uses.
type result struct {
	Label string  `json:"label"`
	Rate  float64 `json:"rate"`
	Fwd   struct {
		RxpkSent   int     `json:"rxpk_sent"`
		Achieved   float64 `json:"achieved_rxpk_per_s"`
		MaxLag     float64 `json:"max_send_lag_ms"`
		PushAckRTT quant   `json:"push_ack_rtt"`
		Downlink   quant   `json:"downlink_latency"`
		PullResp   int     `json:"pull_resp"`
		TxAckSent  int     `json:"tx_ack_sent"`
	} `json:"fwd"`
	Sinks []struct {
		Port      int   `json:"port"`
		Unique    int   `json:"rxpk_unique"`
		Lost      int   `json:"lost"`
		Reordered int   `json:"reordered"`
		Latency   quant `json:"latency"`
	} `json:"sinks"`
	Monitor struct {
		CPUAvg   *float64         `json:"relay_cpu_pct_avg"`
		CPUPeak  *float64         `json:"relay_cpu_pct_peak_1s"`
		RSSStart *float64         `json:"relay_rss_kib_start"`
		RSSMax   *float64         `json:"relay_rss_kib_max"`
		RSSEnd   *float64         `json:"relay_rss_kib_end"`
		HostBusy *float64         `json:"host_cpu_busy_pct_of_all_cores"`
		Drops    map[string]int64 `json:"udp_rcv_drops"`
	} `json:"monitor"`
}

type quant struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func (b *bench) run(w io.Writer, rates string) error {
	tmp, err := os.MkdirTemp("", "pktfwd-relay-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if b.dir == "" {
		b.dir = tmp
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	if b.pktfwd == "" {
		b.pktfwd = filepath.Join(tmp, "pktfwd")
		// As `make build` does: the binary a hotspot runs.
		build := exec.Command("go", "build", "-trimpath", "-tags", "grpcnotrace,nethttpomithttp2", "-ldflags", "-s -w", "-o", b.pktfwd, "./cmd/pktfwd")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build pktfwd (run from the repository's root): %w", err)
		}
	}
	var rows [][]result // per rate: direct, pktfwd[, peer]
	for _, f := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || rate <= 0 {
			return fmt.Errorf("-rates: %q is not a positive whole number", f)
		}
		row, err := b.rate(tmp, rate)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	writeTable(w, rows, b.backends)
	return nil
}

// rate runs the direct baseline, pktfwd and the peer at one rate.
func (b *bench) rate(tmp string, rate int) ([]result, error) {
	relayAddr := fmt.Sprintf("127.0.0.1:%d", b.port)
	sinks := make([]int, b.backends)
	for i := range sinks {
		sinks[i] = b.port + 1 + i
	}
	direct, err := b.loadRun(fmt.Sprintf("direct-r%d", rate), fmt.Sprintf("127.0.0.1:%d", sinks[0]), sinks[:1], rate, 0)
	if err != nil {
		return nil, err
	}
	row := []result{direct}
	ups := make([]string, len(sinks))
	for i, p := range sinks {
		ups[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	relays := []relayCmd{{"pktfwd", []string{b.pktfwd, "relay", "--listen", relayAddr, "--upstreams", strings.Join(ups, ","), "--report", "0"}, []string{"LOGLEVEL=INFO"}}}
	if b.peer != "" {
		conf := filepath.Join(tmp, "mux.toml")
		if err := os.WriteFile(conf, peerConfig(relayAddr, ups), 0o644); err != nil {
			return nil, err
		}
		relays = append(relays, relayCmd{"peer", []string{b.peer, "--config", conf}, nil})
	}
	for _, r := range relays {
		res, err := b.throughRelay(fmt.Sprintf("%s-b%d-r%d", r.name, b.backends, rate), r.argv, r.env, relayAddr, sinks, rate)
		if err != nil {
			return nil, err
		}
		row = append(row, res)
	}
	return row, nil
}

// relayCmd is how one relay is started.
type relayCmd struct {
	name string
	argv []string
	env  []string
}

// peerConfig is the peer's TOML for one gateway and the sinks, at log
// level 2 (errors only), as in the reference figures.
func peerConfig(listen string, ups []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "[general]\nlog_level=2\n\n[packet_multiplexer]\nbind=%q\n", listen)
	for _, u := range ups {
		fmt.Fprintf(&b, "\n[[packet_multiplexer.backend]]\nhost=%q\nuplink_only=false\ngateway_ids=[\"aa555a0000000001\"]\n", u)
	}
	return b.Bytes()
}

// throughRelay starts a fresh relay, lets it settle, runs the load through
// it with its pid sampled, and stops it.
func (b *bench) throughRelay(label string, argv, env []string, relayAddr string, sinks []int, rate int) (result, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("%s: %w", label, err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		if b.dir != "" {
			os.WriteFile(filepath.Join(b.dir, label+".stderr"), stderr.Bytes(), 0o644)
		}
	}()
	time.Sleep(500 * time.Millisecond) // the relay opens its sockets; nothing to await from outside
	if cmd.ProcessState != nil {
		return result{}, fmt.Errorf("%s exited at once: %s", label, stderr.String())
	}
	return b.loadRun(label, relayAddr, sinks, rate, cmd.Process.Pid)
}

// loadRun runs gwmp-load.py once: 1 PULL_RESP/s from the first sink, as
// in the reference figures.
func (b *bench) loadRun(label, relayAddr string, sinks []int, rate, pid int) (result, error) {
	report := filepath.Join(b.dir, label+".json")
	args := []string{b.load, "run", "--relay", relayAddr, "--rate", strconv.Itoa(rate),
		"--duration", strconv.FormatFloat(b.duration.Seconds(), 'f', -1, 64), "--down-rate", "1", "--label", label, "--json", report}
	for _, s := range sinks {
		args = append(args, "--sink", strconv.Itoa(s))
	}
	if pid > 0 {
		args = append(args, "--pid", strconv.Itoa(pid))
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.duration+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "bench/relay: %s\n", label)
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("gwmp-load.py %s: %w", label, err)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		return result{}, fmt.Errorf("%s: %w", report, err)
	}
	if len(r.Sinks) == 0 {
		return result{}, errors.New(label + ": the report has no sink")
	}
	return r, nil
}

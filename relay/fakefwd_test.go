package relay_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"pktfwd/gwmp"
	"pktfwd/relay"
)

// End to end with the project's simulated lora_pkt_fwd, which speaks GWMP as
// the real one does (docs/fake-forwarder.md): its uplinks reach two
// upstreams through the relay; a downlink from the second is queued and
// transmitted (the stat block's TX counters move) and its TX_ACK returns to
// the second alone.
func TestRelay_WithSimulatedForwarder(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "lora_pkt_fwd")
	if out, err := exec.Command("go", "build", "-o", bin, "pktfwd/internal/fakefwd/lora_pkt_fwd").CombinedOutput(); err != nil {
		t.Fatalf("building the simulated forwarder: %v\n%s", err, out)
	}
	a, b, cfg := twoUpstreams(t)
	r := startRelay(t, cfg)

	conf := readJSON(t, filepath.Join("..", "configs", "testdata", "sx1302.EU868.global_conf.json"))
	gw := conf["gateway_conf"].(map[string]any)
	gw["server_address"] = "127.0.0.1"
	gw["serv_port_up"] = r.Addr().Port
	gw["serv_port_down"] = r.Addr().Port
	gw["keepalive_interval"] = 1
	gw["stat_interval"] = 0.5
	if gw["gateway_ID"] != "AA555A0000000001" {
		t.Fatalf("the test config's gateway_ID is %v, want the EUI the test expects", gw["gateway_ID"])
	}
	writeJSON(t, filepath.Join(dir, "global_conf.json"), conf)
	if err := os.WriteFile(filepath.Join(dir, "reset_lgw.sh"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FAKEFWD_RX_PER_SEC=20")
	cmd.Stdout, cmd.Stderr = &out, &out // a pipe: the output is flushed at exit
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the simulated forwarder exited with %v:\n%s", err, out.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("the simulated forwarder did not stop within 10 s of SIGTERM")
		}
	}
	t.Cleanup(stop)

	// Uplinks: the same datagram at both upstreams.
	up := await(t, a.got, 10*time.Second, "an rxpk at a", func(d datagram) bool {
		return d.p.Type == gwmp.PushData && gwmp.CountRxpk(d.p.Payload) > 0
	})
	await(t, b.got, 5*time.Second, "the same rxpk at b", func(d datagram) bool { return bytes.Equal(d.b, up.b) })
	if up.p.EUI != testEUI {
		t.Fatalf("PUSH_DATA from EUI %016x", up.p.EUI)
	}
	eventually(t, 5*time.Second, "the forwarder's PULL_DATA", func() bool { return r.Snapshot().Forwarder.PullData > 0 })

	// A downlink from b, with ChirpStack's token for downlink 1001. The
	// forwarder's next stat report counts its transmission (txnb); under
	// load that report may overtake the TX_ACK, so both are looked for in
	// whatever b receives.
	b.pullResp(0x03e9, txpkBody)
	var ack *datagram
	var reports []int
	transmitted := false
	t.Cleanup(func() {
		if t.Failed() {
			stop() // flushes the forwarder's output
			t.Logf("TX_ACK %v; txnb of the stat reports at b: %v; forwarder output:\n%s", ack != nil, reports, out.String())
		}
	})
	await(t, b.got, 10*time.Second, "TX_ACK and a stat report with txnb 1 at b", func(d datagram) bool {
		if d.p.Type == gwmp.TxAck && ack == nil {
			ack = &d
		}
		if n := txnb(d); n >= 0 {
			reports = append(reports, n)
			transmitted = transmitted || n == 1
		}
		return ack != nil && transmitted
	})
	if ack.p.Token != 0x03e9 || ack.p.EUI != testEUI || len(ack.p.Payload) != 0 {
		t.Fatalf("TX_ACK %x, want token e903, the gateway's EUI and no error", ack.b)
	}
	for len(a.got) > 0 {
		if d := <-a.got; d.p.Type == gwmp.TxAck {
			t.Fatalf("a got b's TX_ACK: %x", d.b)
		}
	}
	stop()

	text := out.String()
	if sum(t, text, `# RF packets sent to concentrator: (\d+)`) != 1 || sum(t, text, `# PULL_RESP\(onse\) datagrams received: (\d+)`) != 1 {
		t.Fatalf("the stat blocks do not count one downlink received and sent:\n%s", text)
	}
	if !regexp.MustCompile(`# PUSH_DATA acknowledged: 100.00%`).MatchString(text) {
		t.Fatalf("no block with every PUSH_DATA acknowledged:\n%s", text)
	}
	s := r.Snapshot().Upstreams
	if s[1].Downlinks != 1 || s[1].TxAck != 1 || s[0].TxAck != 0 || s[0].State != relay.StateOK || s[1].State != relay.StateOK {
		t.Fatalf("upstreams %+v", s)
	}
}

// txnb returns the "txnb" of a PUSH_DATA's stat report, or -1.
func txnb(d datagram) int {
	var body struct {
		Stat *struct{ Txnb int }
	}
	if d.p.Type != gwmp.PushData || json.Unmarshal(d.p.Payload, &body) != nil || body.Stat == nil {
		return -1
	}
	return body.Stat.Txnb
}

// sum adds the first group of every match of re in text.
func sum(t *testing.T, text, re string) int {
	t.Helper()
	n := 0
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(text, -1) {
		v, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatal(err)
		}
		n += v
	}
	return n
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// `pktfwd relay` relays a forwarder's PUSH_DATA to every upstream given by
// flag, acknowledges it itself, and stops on SIGTERM with exit 0.
func TestRelayCommand_RelaysToEveryUpstream(t *testing.T) {
	var ups [2]*net.UDPConn
	var names []string
	for i := range ups {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ups[i] = c
		names = append(names, c.LocalAddr().String())
	}
	listen := "127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
	self, _ := os.Executable()
	cmd := exec.Command(self, "relay", "--listen", listen, "--upstreams", strings.Join(names, ","), "--report", "0")
	cmd.Env = append(os.Environ(), "PKTFWD_TEST_AS_PKTFWD=1", "UPSTREAMS=", "GATEWAY_EUI=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("pktfwd relay exited with %v after SIGTERM:\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("pktfwd relay did not stop within 10 s of SIGTERM")
		}
	}()

	fwd, err := net.Dial("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	// PUSH_DATA, version 2, token 0x1234, EUI AA555A0000000001 (SPEC, "GWMP").
	push := append([]byte{2, 0x34, 0x12, 0, 0xAA, 0x55, 0x5A, 0, 0, 0, 0, 1}, `{"rxpk":[{"data":"QAEQASYAAwABeN1nKaVUMm+B"}]}`...)
	ack := make([]byte, 16)
	deadline := time.Now().Add(10 * time.Second)
	for { // the relay may still be starting: send until it acknowledges
		fwd.Write(push)
		fwd.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := fwd.Read(ack); err == nil {
			if !bytes.Equal(ack[:n], []byte{2, 0x34, 0x12, 1}) {
				t.Fatalf("got %x, want the PUSH_ACK 02341201", ack[:n])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no PUSH_ACK from pktfwd relay within 10 s:\n%s", stderr.String())
		}
	}
	// An uplink that arrives while the relay still resolves its upstreams
	// is acknowledged but not forwarded: send until each upstream has it.
	for i, c := range ups {
		buf := make([]byte, 1024)
		deadline := time.Now().Add(10 * time.Second)
		for {
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, _, err := c.ReadFromUDP(buf)
			if err == nil && bytes.Equal(buf[:n], push) {
				break
			} // else the relay's own PULL_DATA, or nothing yet
			if time.Now().After(deadline) {
				t.Fatalf("upstream %d received no PUSH_DATA within 10 s (last read: %v):\n%s", i, err, stderr.String())
			}
			fwd.Write(push)
		}
	}
}

// Bad flags are a usage error (exit 2) that names the flag and the fix.
func TestRelayCommand_BadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"relay"}, "--upstreams: none"},
		{[]string{"relay", "--upstreams", "ttn.example"}, `--upstreams: entry 1 "ttn.example": no port`},
		{[]string{"relay", "--upstreams", "a:1", "--eui", "xyz"}, `--eui "xyz": want 16 hex digits`},
	} {
		_, errOut, code := pktfwd(t, []string{"UPSTREAMS=", "GATEWAY_EUI="}, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("pktfwd %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

package relay_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pktfwd/gwmp"
	"pktfwd/relay"
)

// The upstream's name moves from 127.0.0.1 to ::1 (a container restarted
// elsewhere, as on Nebra's hotspots); the old address falls silent. The relay
// re-resolves after the ack silence, long before the upstream would be lost,
// and follows it to the other address family. Then a name that does not
// resolve is unresolved until /etc/hosts has it; when it goes again, the
// working path stays. /etc/hosts (and
// /etc/resolv.conf, so that no DNS server answers) are changed in a private
// mount namespace: the test re-runs itself under `unshare -m` with temporary
// files bind-mounted there.
func TestRelay_FollowsNameChange(t *testing.T) {
	if os.Getenv("PKTFWD_TEST_HOSTS_NS") == "1" {
		followsNameChange(t, os.Getenv("PKTFWD_TEST_HOSTS_FILE"))
		return
	}
	if err := exec.Command("unshare", "-m", "--propagation", "private", "true").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no private mount namespace here (unshare -m: %v): run the tests as root", err)
		}
		t.Skipf("no private mount namespace here (unshare -m: %v); it needs root", err)
	}
	dir := t.TempDir()
	hosts := dir + "/hosts"
	if err := os.WriteFile(hosts, []byte("127.0.0.1 upstream.pktfwd.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/resolv.conf", []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "private", self, "-test.run=^TestRelay_FollowsNameChange$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PKTFWD_TEST_HOSTS_NS=1", "PKTFWD_TEST_HOSTS_FILE="+hosts)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("in the private mount namespace: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func followsNameChange(t *testing.T, hosts string) {
	for _, m := range [][2]string{{hosts, "/etc/hosts"}, {filepath.Join(filepath.Dir(hosts), "resolv.conf"), "/etc/resolv.conf"}} {
		if err := unix.Mount(m[0], m[1], "", unix.MS_BIND, ""); err != nil {
			t.Fatalf("bind-mount %s on %s: %v", m[0], m[1], err)
		}
	}
	// The old address, and the new one on the same ports in the other family.
	oldServer := newFakeServer(t)
	up6, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback, Port: port(oldServer.up)})
	if err != nil {
		t.Fatalf("no IPv6 loopback, or its port is taken: %v", err)
	}
	down6, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback, Port: port(oldServer.down)})
	if err != nil {
		up6.Close()
		t.Fatalf("no IPv6 loopback, or its port is taken: %v", err)
	}
	newServer := newFakeServerOn(t, up6, down6)

	ev := newStateEvents()
	start := time.Now()
	r := startRelay(t, relay.Config{
		GatewayEUI: testEUI,
		Upstreams:  []relay.Upstream{{Name: "upstream.pktfwd.test:1", Host: "upstream.pktfwd.test", PortUp: port(oldServer.up), PortDown: port(oldServer.down)}},
		Keepalive:  100 * time.Millisecond,
		LostAfter:  12 * time.Second, // the ack silence, not the lost rule, must find the move
		Reresolve:  time.Hour,
		OnState:    ev.onState,
	})
	ev.await(t, 5*time.Second, "upstream.pktfwd.test:1 waiting→ok")
	if got := r.Snapshot().Upstreams[0].Address; got != "127.0.0.1" {
		t.Fatalf("resolved to %q, want 127.0.0.1 from the hosts file", got)
	}
	// Go's resolver caches /etc/hosts for 5 s after reading it; a cache
	// expiry is not an event to await.
	time.Sleep(time.Until(start.Add(5500 * time.Millisecond)))
	// In place: a rename would leave the bind mount on the old file.
	if err := os.WriteFile(hosts, []byte("::1 upstream.pktfwd.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	oldServer.silent.Store(true)

	pd := await(t, newServer.got, 5*time.Second, "PULL_DATA at the new address", isType(gwmp.PullData))
	t.Logf("followed the move in %v", time.Since(moved).Round(time.Millisecond))
	if pd.p.EUI != testEUI {
		t.Fatalf("PULL_DATA %x", pd.b)
	}
	fwd := newFakeForwarder(t, r.Addr())
	fwd.pushData(0x4aec, rxpkBody)
	await(t, newServer.got, 2*time.Second, "PUSH_DATA at the new address", isType(gwmp.PushData))
	s := r.Snapshot().Upstreams[0]
	if s.Address != "::1" || s.State != relay.StateOK {
		t.Fatalf("address %q state %s, want ::1 ok", s.Address, s.State)
	}
	for _, e := range ev.rest() {
		t.Errorf("state changed on the way: %s", e)
	}

	// A name missing from /etc/hosts (and no DNS server) is unresolved, and
	// resolved once the file has it, at the next try.
	ev2 := newStateEvents()
	r2 := startRelay(t, relay.Config{
		GatewayEUI: testEUI,
		Upstreams:  []relay.Upstream{{Name: "missing.pktfwd.test:1", Host: "missing.pktfwd.test", PortUp: port(newServer.up), PortDown: port(newServer.down)}},
		Keepalive:  100 * time.Millisecond,
		LostAfter:  12 * time.Second,
		Reresolve:  200 * time.Millisecond,
		OnState:    ev2.onState,
	})
	ev2.await(t, 5*time.Second, "missing.pktfwd.test:1 waiting→unresolved")
	if s := r2.Snapshot().Upstreams[0]; s.Address != "" || s.PullSent != 0 {
		t.Fatalf("an unresolved upstream: %+v", s)
	}
	if err := os.WriteFile(hosts, []byte("::1 upstream.pktfwd.test missing.pktfwd.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev2.await(t, 8*time.Second, "missing.pktfwd.test:1 unresolved→waiting") // Go's 5 s cache, then the next try
	ev2.await(t, 2*time.Second, "missing.pktfwd.test:1 waiting→ok")

	// The name disappears again (a DNS hiccup): the working path stays.
	if err := os.WriteFile(hosts, []byte("::1 upstream.pktfwd.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gone := time.Now()
	pulls := r2.Snapshot().Upstreams[0].PullAcked
	eventually(t, 10*time.Second, "keepalives answered for 6 s after the name went", func() bool {
		return time.Since(gone) > 6*time.Second && r2.Snapshot().Upstreams[0].PullAcked > pulls+30
	})
	if s := r2.Snapshot().Upstreams[0]; s.State != relay.StateOK || s.Address != "::1" {
		t.Fatalf("after the name went: state %s address %q, want ok ::1", s.State, s.Address)
	}
	for _, e := range ev2.rest() {
		t.Errorf("state changed after the name went: %s", e)
	}
}

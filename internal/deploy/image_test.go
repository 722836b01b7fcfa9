package deploy_test

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The end-to-end test of the image runs when scripts/image-e2e.sh has built
// one and names it here; the script fails when this test did not pass.
const (
	envImage   = "PKTFWD_E2E_IMAGE"   // the image to run, e.g. pktfwd:e2e
	envFakeFwd = "PKTFWD_E2E_FAKEFWD" // a static build of internal/fakefwd/lora_pkt_fwd
)

// project is the compose project name; compose v1 names the volume
// project_pktfwdr, which the other containers here mount.
const project = "pktfwde2e"

// e2e runs docker-compose and docker for one test.
type e2e struct {
	t       *testing.T
	image   string
	compose []string // docker-compose's arguments up to the command
	volume  string   // the shared volume's name as compose created it
	dir     string   // the volume on this host, for polling status.json
}

// TestImage_ComposeEndToEnd runs the image with the shipped compose file and
// a test override (testdata/compose-e2e.yml) and checks what fleets rely on:
// healthy; a region written into the volume by another container is
// followed; SIGHUP restarts the forwarder; `docker stop` exits 0 in the grace
// and writes diagnostics false; after `docker kill`, `pktfwd health` from
// another container fails within two refresh intervals.
func TestImage_ComposeEndToEnd(t *testing.T) {
	image, fake := os.Getenv(envImage), os.Getenv(envFakeFwd)
	if image == "" || fake == "" {
		t.Skipf("%s and %s are not set: scripts/image-e2e.sh builds the image and runs this test", envImage, envFakeFwd)
	}
	gwmp := gwmpStandIn(t)
	e := &e2e{t: t, image: image, volume: project + "_pktfwdr",
		compose: []string{"-p", project, "-f", filepath.Join("..", "..", "docker-compose.yml"), "-f", filepath.Join("testdata", "compose-e2e.yml")}}
	t.Setenv("PKTFWD_E2E_GWMP_PORT", strconv.Itoa(gwmp))
	e.cleanup()
	t.Cleanup(e.cleanup)

	e.run("docker-compose", append(e.compose, "up", "-d", "--no-build")...)
	e.dir = strings.TrimSpace(e.run("docker", "volume", "inspect", "-f", "{{.Mountpoint}}", e.volume))
	container := strings.TrimSpace(e.run("docker-compose", append(e.compose, "ps", "-q", "packet-forwarder")...))

	e.writeRegion("EU868")
	e.waitStatus("running on EU868", 60*time.Second, func(s status) bool { return s.State == "running" && strings.HasPrefix(s.Region, "EU868") })
	if g := e.run("docker", "exec", container, "/bin/busybox", "cat", "/opt/global_conf.json"); !strings.Contains(g, `"server_address": "127.0.0.1"`) {
		t.Errorf("SERVER_ADDRESS gwmp-standin is not written as its address 127.0.0.1 (docs/image.md):\n%s", g)
	}
	e.waitHealth(container, "healthy", 60*time.Second)

	began := time.Now()
	e.writeRegion("US915")
	e.waitStatus("running on US915", 30*time.Second, func(s status) bool { return s.State == "running" && strings.HasPrefix(s.Region, "US915") })
	t.Logf("region change written from another container followed in %s", time.Since(began).Round(time.Millisecond))

	st := e.waitStatus("running", 10*time.Second, func(s status) bool { return s.State == "running" && s.StartedAt != nil })
	started := *st.StartedAt
	e.run("docker", "kill", "-s", "HUP", container)
	e.waitStatus("a new forwarder after SIGHUP", 30*time.Second, func(s status) bool {
		return s.State == "running" && s.StartedAt != nil && s.StartedAt.After(started)
	})
	e.waitHealth(container, "healthy", 60*time.Second)
	if out, err := e.health(); err != nil {
		t.Errorf("pktfwd health from another container fails while the forwarder is healthy: %v\n%s", err, out)
	}

	began = time.Now()
	e.run("docker", "stop", "-t", "10", container)
	took := time.Since(began)
	if code := strings.TrimSpace(e.run("docker", "inspect", "-f", "{{.State.ExitCode}}", container)); code != "0" || took > 10*time.Second {
		t.Errorf("docker stop: exit code %s after %s, want 0 within the 10 s grace", code, took.Round(time.Millisecond))
	}
	if d := e.readVolume("diagnostics"); strings.TrimSpace(d) != "false" {
		t.Errorf("diagnostics after docker stop is %q, want false", d)
	}
	t.Logf("docker stop took %s", took.Round(time.Millisecond))

	e.run("docker", "start", container)
	e.waitStatus("running again", 60*time.Second, func(s status) bool { return s.State == "running" && s.Radio != nil })
	e.waitHealth(container, "healthy", 60*time.Second)
	e.run("docker", "kill", container)
	killed := time.Now()
	refresh := 3 * time.Second // LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS in the override
	for {
		out, err := e.health()
		if err != nil {
			t.Logf("pktfwd health failed %s after docker kill: %s", time.Since(killed).Round(time.Millisecond), strings.TrimSpace(out))
			break
		}
		if time.Since(killed) > 2*refresh+time.Second {
			t.Errorf("pktfwd health still passes %s after docker kill (refresh interval %s): %s", time.Since(killed).Round(time.Millisecond), refresh, out)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// status is the part of status.json this test reads.
type status struct {
	State     string     `json:"state"`
	Region    string     `json:"region"`
	StartedAt *time.Time `json:"started_at"`
	Radio     *struct{}  `json:"radio"`
}

// run runs a command and fails the test with its output when it fails.
func (e *e2e) run(name string, args ...string) string {
	e.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cleanup removes the project's containers and volume.
func (e *e2e) cleanup() {
	out, err := exec.Command("docker-compose", append(e.compose, "down", "-v", "-t", "1")...).CombinedOutput()
	if err != nil {
		e.t.Logf("docker-compose down: %v\n%s", err, out)
	}
}

// writeRegion writes the region file from another container, as the miner
// does: busybox tee reads it from stdin, no shell involved.
func (e *e2e) writeRegion(region string) {
	e.t.Helper()
	cmd := exec.Command("docker", "run", "--rm", "-i", "--network", "host", "-v", e.volume+":/var/pktfwd",
		"--entrypoint", "/bin/busybox", e.image, "tee", "/var/pktfwd/region")
	cmd.Stdin = strings.NewReader(region + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("writing the region from another container: %v\n%s", err, out)
	}
}

// health runs `pktfwd health` in another container with the volume.
func (e *e2e) health() (string, error) {
	out, err := exec.Command("docker", "run", "--rm", "--network", "host", "-v", e.volume+":/var/pktfwd",
		"-e", "LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=3", e.image, "health").CombinedOutput()
	return string(out), err
}

func (e *e2e) readVolume(name string) string {
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		e.t.Fatalf("reading %s from the volume %s: %v", name, e.volume, err)
	}
	return string(b)
}

// waitStatus polls status.json in the volume until ok, or fails after limit.
func (e *e2e) waitStatus(what string, limit time.Duration, ok func(status) bool) status {
	e.t.Helper()
	var st status
	var raw []byte
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		raw, _ = os.ReadFile(filepath.Join(e.dir, "status.json"))
		st = status{}
		if json.Unmarshal(raw, &st) == nil && ok(st) {
			return st
		}
	}
	e.t.Fatalf("status.json did not show %s within %s:\n%s\n%s", what, limit, raw, e.logs())
	return st
}

// waitHealth waits for Docker's health status of the container.
func (e *e2e) waitHealth(container, want string, limit time.Duration) {
	e.t.Helper()
	var got string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = strings.TrimSpace(e.run("docker", "inspect", "-f", "{{.State.Health.Status}}", container)); got == want {
			return
		}
	}
	e.t.Fatalf("the container is %s, not %s, after %s\n%s", got, want, limit, e.logs())
}

func (e *e2e) logs() string {
	out, _ := exec.Command("docker-compose", append(e.compose, "logs", "--no-color", "--tail", "40")...).CombinedOutput()
	return string(out)
}

// gwmpStandIn answers PUSH_DATA with PUSH_ACK and PULL_DATA with PULL_ACK
// on a UDP port of 127.0.0.1 until the test ends, and returns the port.
func gwmpStandIn(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return // closed at the end of the test
			}
			if n < 4 || buf[0] != 2 {
				continue
			}
			ack := map[byte]byte{0: 1, 2: 4}[buf[3]] // PUSH_DATA→PUSH_ACK, PULL_DATA→PULL_ACK
			if ack != 0 {
				c.WriteTo(bytes.Join([][]byte{buf[:3], {ack}}, nil), from)
			}
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).Port
}

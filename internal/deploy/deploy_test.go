package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// uncommented drops YAML and shell comments (whole-line and trailing).
func uncommented(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "#"); i >= 0 {
			l = l[:i]
		}
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestCompose_RunsOnBalenaAsWritten: balena's compose support (format 2.4)
// has no variable substitution and no init; the volume shared with the
// miner is named pktfwdr, as in Nebra's fleets.
func TestCompose_RunsOnBalenaAsWritten(t *testing.T) {
	lines := uncommented(read(t, "docker-compose.yml"))
	text := strings.Join(lines, "\n")
	if strings.Contains(text, "${") || strings.Contains(text, "$$") {
		t.Error("docker-compose.yml uses variable substitution, which balena does not do")
	}
	if regexp.MustCompile(`(?m)^\s+init:`).MatchString(text) {
		t.Error("docker-compose.yml sets init:, which balena does not support (pktfwd reaps as PID 1)")
	}
	if !regexp.MustCompile(`(?m)^version: "2\.[0-4]"$`).MatchString(text) {
		t.Error(`docker-compose.yml lacks version: "2.x" (balena reads compose format 2.4)`)
	}
	if !regexp.MustCompile(`(?m)^\s+- pktfwdr:/var/pktfwd$`).MatchString(text) || !regexp.MustCompile(`(?m)^volumes:\n  pktfwdr:$`).MatchString(text) {
		t.Errorf("the shared volume is not pktfwdr:/var/pktfwd:\n%s", text)
	}
}

// TestCompose_WorksAsShipped: the shipped file sends nowhere it does not
// define: SERVER_ADDRESS, when set, names a service of the file (today it
// is left to the documented default).
func TestCompose_WorksAsShipped(t *testing.T) {
	text := strings.Join(uncommented(read(t, "docker-compose.yml")), "\n")
	m := regexp.MustCompile(`(?m)^\s+SERVER_ADDRESS:\s*"?([^"\s]+)`).FindStringSubmatch(text)
	if m != nil && !regexp.MustCompile(`(?m)^  `+regexp.QuoteMeta(m[1])+`:$`).MatchString(text) {
		t.Errorf("SERVER_ADDRESS is %s, which is no service of docker-compose.yml", m[1])
	}
}

// TestDockerfile_BuildsWithEveryBuilder: the classic builder (and
// docker-compose v1, balena) cannot parse FROM --platform=$BUILDPLATFORM;
// every variable a FROM uses has a default before the first FROM; the
// forwarder sources are pinned to full commit SHAs.
func TestDockerfile_BuildsWithEveryBuilder(t *testing.T) {
	d := read(t, "Dockerfile")
	head, _, _ := strings.Cut(d, "\nFROM ")
	for _, from := range regexp.MustCompile(`(?m)^FROM .*$`).FindAllString(d, -1) {
		if strings.Contains(from, "--platform") {
			t.Errorf("%q: the classic builder fails on --platform", from)
		}
		for _, v := range regexp.MustCompile(`\$\{?(\w+)`).FindAllStringSubmatch(from, -1) {
			if !regexp.MustCompile(`(?m)^ARG ` + v[1] + `=\S`).MatchString(head) {
				t.Errorf("%q uses %s, which has no default before the first FROM", from, v[1])
			}
		}
	}
	for _, name := range []string{"SX1302_HAL", "LORA_GATEWAY", "PACKET_FORWARDER"} {
		if !regexp.MustCompile(`(?m)^ARG ` + name + `_SHA=[0-9a-f]{40}$`).MatchString(d) {
			t.Errorf("the Dockerfile does not pin %s_SHA to a full commit SHA", name)
		}
	}
}

func TestLicenseAndStaticcheck(t *testing.T) {
	if l := read(t, "LICENSE"); !strings.HasPrefix(l, "MIT License\n") || !strings.Contains(l, "Copyright (c) 2026 the pktfwd authors") {
		t.Error("LICENSE is not the MIT licence of the pktfwd authors")
	}
	if !regexp.MustCompile(`(?m)^go run honnef\.co/go/tools/cmd/staticcheck@v\d+\.\d+\.\d+ \./\.\.\.$`).MatchString(read(t, ".ci/run")) {
		t.Error(".ci/run does not run a pinned staticcheck")
	}
}

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

// TestDockerfile_CertificatesAndSX1301Fallback: the final image can verify
// an https Sentry DSN, and holds a plain lora_pkt_fwd for SX1301.
func TestDockerfile_CertificatesAndSX1301Fallback(t *testing.T) {
	d := read(t, "Dockerfile")
	stages := strings.Split(d, "\nFROM ")
	final := stages[len(stages)-1]
	if !strings.Contains(final, "/etc/ssl/certs/ca-certificates.crt") {
		t.Error("the final image has no CA certificates (/etc/ssl/certs/ca-certificates.crt)")
	}
	sx1301 := ""
	for _, s := range stages {
		if strings.Contains(s, " AS sx1301") {
			sx1301 = s
		}
	}
	if !strings.Contains(sx1301, "ln -s lora_pkt_fwd_spidev0.0 /out/sx1301/lora_pkt_fwd") || !strings.Contains(final, "COPY --from=sx1301 /out/sx1301 /opt/sx1301") {
		t.Error("the SX1301 stage does not ship /opt/sx1301/lora_pkt_fwd (a link to the spidev0.0 build)")
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

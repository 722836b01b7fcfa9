package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pktfwd/scripts"
)

func TestResetLGW(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "reset_lgw.sh")
	os.WriteFile(script, scripts.ResetLGW, 0o755)
	// A stand-in pktfwd that records how it was called.
	bin := filepath.Join(dir, "pktfwd")
	os.WriteFile(bin, []byte("#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/called\"\n"), 0o755)

	t.Run("under the supervisor it does nothing", func(t *testing.T) {
		cmd := exec.Command(script, "start")
		cmd.Env = append(os.Environ(), "PKTFWD_SUPERVISED=1", "PKTFWD_BIN="+bin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "called")); err == nil {
			t.Error("pktfwd reset was called under the supervisor")
		}
	})
	for _, arg := range []string{"start", "stop"} {
		t.Run("by hand: "+arg, func(t *testing.T) {
			cmd := exec.Command(script, arg)
			cmd.Env = append(os.Environ(), "PKTFWD_BIN="+bin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "called"))
			if strings.TrimSpace(string(b)) != "reset "+arg {
				t.Errorf("pktfwd called with %q", b)
			}
		})
	}
	if err := exec.Command(script, "frob").Run(); err == nil {
		t.Error("an unknown argument succeeded")
	}
}

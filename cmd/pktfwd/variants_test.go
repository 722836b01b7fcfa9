package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestVariants_ListsAliases runs the binary: `pktfwd variants` lists the
// aliases with their targets, e.g. COMP-PANTHERX1 → pantherx1-fl1.
func TestVariants_ListsAliases(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "variants")
	cmd.Env = append(os.Environ(), "PKTFWD_TEST_AS_PKTFWD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pktfwd variants: %v\n%s", err, out)
	}
	_, aliases, found := strings.Cut(string(out), "ALIAS")
	if !found {
		t.Fatalf("no ALIAS section:\n%s", out)
	}
	for _, pair := range [][2]string{{"COMP-PANTHERX1", "pantherx1-fl1"}, {"NEBHNT-LGT-RADXA", "nebra-light2"}} {
		if !strings.Contains(strings.Join(strings.Fields(aliases), " "), pair[0]+" "+pair[1]) {
			t.Errorf("alias %s → %s not listed:\n%s", pair[0], pair[1], aliases)
		}
	}
}

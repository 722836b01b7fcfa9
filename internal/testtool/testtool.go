// Package testtool finds the programs tests need (promtool, prlimit, …).
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of a program a test needs. Without it the test
// skips, and fails under CI=true: CI must not pass by not testing. install
// says how to get the program.
func Require(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed and CI=true: install it (%s)", name, install)
	}
	t.Skipf("%s is not installed (install: %s); CI=true makes this a failure", name, install)
	return ""
}

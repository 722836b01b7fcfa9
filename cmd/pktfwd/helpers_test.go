//go:build !nometrics || !nosentry

package main

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// requireTool returns the path of a program a test needs. Without it the
// test skips, and fails under CI=true: CI must not pass by not testing.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed and CI=true: install %s", name, install)
	}
	t.Skipf("%s is not installed (install %s); CI=true makes this a failure", name, install)
	return ""
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"

	"pktfwd/supervisor"
)

var update = flag.Bool("update", false, "rewrite environment.txt from envconfig's usage table")

// The help's variable table is exactly what envconfig prints for
// supervisor.Config today (it is kept in a file so that the binary does not
// link text/template).
func TestEnvironmentTable(t *testing.T) {
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
	if err := envconfig.Usagef("", &supervisor.Config{}, tw, envconfig.DefaultTableFormat); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	if *update {
		if err := os.WriteFile("environment.txt", want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if environmentTable != want.String() {
		t.Fatal("cmd/pktfwd/environment.txt is not envconfig's table of supervisor.Config: run `make generate` and commit it")
	}
	for _, v := range []string{"REGION_OVERRIDE", "SPI_BUS", "STATUS_FILEPATH"} {
		if !strings.Contains(environmentTable, v) {
			t.Errorf("environment.txt lacks %s", v)
		}
	}
}

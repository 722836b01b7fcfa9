package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"pktfwd/supervisor"
)

// docs/environment.md lists every variable and alias the code reads.
func TestDocs_EnvironmentListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../docs/environment.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var names []string
	for _, f := range reflect.VisibleFields(reflect.TypeOf(supervisor.Config{})) {
		if n := f.Tag.Get("envconfig"); n != "" {
			names = append(names, n)
		}
	}
	for alias := range aliases {
		names = append(names, alias)
	}
	for _, n := range names {
		if !strings.Contains(doc, "`"+n+"`") {
			t.Errorf("docs/environment.md does not mention `%s`", n)
		}
	}
}

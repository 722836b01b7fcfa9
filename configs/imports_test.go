package configs_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Data flows one way: configs renders for a chip model (package chips) and
// never imports the hardware side.
func TestImports_NotTheHardware(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); p == "pktfwd/concentrator" || p == "pktfwd/supervisor" {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}

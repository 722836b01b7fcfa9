// Command lora_pkt_fwd is the simulated forwarder of package fakefwd, built
// by the tests.
package main

import (
	"os"

	"pktfwd/internal/fakefwd"
)

func main() { os.Exit(fakefwd.Main()) }

// Package scripts embeds the shell glue that pktfwd installs next to the
// forwarder. The scripts repeat no Go logic: they call the pktfwd binary.
package scripts

import _ "embed"

// ResetLGW is reset_lgw.sh, which the SX1302 lora_pkt_fwd runs from its
// working directory.
//
//go:embed reset_lgw.sh
var ResetLGW []byte

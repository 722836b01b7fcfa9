package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// sx1302Build is what the strings of an SX1302/SX1303 forwarder binary
// tell about its source (docs/hm-pktfwd.md): Lora-net's sx1302_hal 2.1.0
// reads the keys com_type and com_path and supports USB; Helium's 1.0.5
// fork reads spidev_path only and has no USB support.
type sx1302Build int

const (
	buildUnknown sx1302Build = iota // neither key: a build we cannot tell
	buildHelium                     // spidev_path only: Helium's fork, SPI only
	buildLoraNet                    // com_type: Lora-net 2.1.0 or later, SPI and USB
)

// maxForwarderScan bounds how much of a forwarder binary is read (the real
// builds are about 1.3 MB).
const maxForwarderScan = 16 << 20

// scanSX1302Build reads at most limit bytes of the binary at path, in
// chunks, and tells which build it is.
func scanSX1302Build(path string, limit int64) (sx1302Build, error) {
	f, err := os.Open(path)
	if err != nil {
		return buildUnknown, err
	}
	defer f.Close()
	comType, spidevPath := []byte("com_type"), []byte("spidev_path")
	overlap := len(spidevPath) - 1
	buf := make([]byte, 64<<10)
	r := io.LimitReader(f, limit)
	found, kept := false, 0
	for {
		n, err := io.ReadFull(r, buf[kept:])
		window := buf[:kept+n]
		if bytes.Contains(window, comType) {
			return buildLoraNet, nil
		}
		found = found || bytes.Contains(window, spidevPath)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return buildUnknown, err
		}
		kept = copy(buf, window[len(window)-overlap:])
	}
	if found {
		return buildHelium, nil
	}
	return buildUnknown, nil
}

// checkForwarderBuild refuses, before it starts, a forwarder that cannot
// drive the concentrator: a USB concentrator with Helium's SX1302 fork,
// which has no USB support. Only USB concentrators are checked.
func (s *Supervisor) checkForwarderBuild(path string) error {
	if !s.hw.USB {
		return nil
	}
	build, err := scanSX1302Build(path, maxForwarderScan)
	if err != nil {
		return fmt.Errorf("read forwarder %s: %w", path, err)
	}
	if build == buildHelium {
		return fmt.Errorf("USB concentrator on %s, but %s is Helium's sx1302_hal 1.0.5 fork, which has no USB support: "+
			"set SX1302_LORA_PKT_FWD_FILEPATH to a Lora-net sx1302_hal 2.1.0 build (the pktfwd image has one at /opt/sx1302/lora_pkt_fwd)",
			s.hw.USBDevice, path)
	}
	return nil
}

package supervisor

import (
	"regexp"
)

// startFailures are the messages the real lora_pkt_fwd builds print when
// they stop during start, with a one-line cause and fix for each
// (docs/forwarder-config.md, "Start failures").
var startFailures = []struct {
	re    *regexp.Regexp
	cause string // may use $1, $2 from re
}{
	{regexp.MustCompile(`failed to reset SX1302, check your reset_lgw\.sh script`),
		"the reset script ./reset_lgw.sh failed or is missing in ROOT_DIR: reinstall it (pktfwd writes it with the config) and check ROOT_DIR is not mounted noexec"},
	{regexp.MustCompile(`(\S+) is not a valid JSON file`),
		"$1 is not valid JSON: fix the maker template or GLOBAL_CONF_OVERLAY that produced it"},
	{regexp.MustCompile(`(\S+) does not contain a JSON object named (\w+)`),
		"$1 has no $2 section: the config was made for another chip family or the section was removed; check CHIP and the maker template"},
	{regexp.MustCompile(`invalid configuration for (Lora multi-SF channel \d+|Lora standard channel|FSK channel|radio \d)`),
		"the HAL refused $1 (an IF outside the radio's band or a wrong radio type): fix the maker template or GLOBAL_CONF_OVERLAY"},
	{regexp.MustCompile(`com_type must be configured|spidev path must be configured`),
		"wrong forwarder build for this config: Helium's sx1302_hal needs spidev_path and has no USB; Lora-net's 2.1.0 needs com_type/com_path — set SX1302_LORA_PKT_FWD_FILEPATH to the build that matches CONCENTRATOR_INTERFACE"},
	{regexp.MustCompile(`getaddrinfo on address (\S+) \((?i:port) \S+\) returned`),
		"the server address $1 does not resolve: check SERVER_ADDRESS and that the gateway or multiplexer container is up"},
	{regexp.MustCompile(`failed to find any configuration file`),
		"no config file: the forwarder found no global_conf.json in ROOT_DIR, where it runs"},
	{noConcentrator,
		"no concentrator answered: check that the module is seated, the SPI bus (SPI_BUS/VARIANT) and the reset line (RESET_GPIO), and that the chip matches the build (CHIP)"},
}

var (
	noConcentrator = regexp.MustCompile(`failed to start the concentrator`)
	noCOMPort      = regexp.MustCompile(`failed to open COM port (\S+)`)
)

// classify recognises why a forwarder stopped from its last lines and
// returns a one-line cause and fix, or "" when no known message is there.
// The last known message wins: the forwarders print harmless ones on the
// way (an SX1301 local_conf.json "does not contain" SX1301_conf).
func classify(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		for _, f := range startFailures {
			m := f.re.FindStringSubmatchIndex(lines[i])
			if m == nil {
				continue
			}
			if f.re == noConcentrator {
				if port := usbPort(lines[:i]); port != "" {
					return "no USB concentrator at " + port + ": check USB_DEVICE and that the module is plugged in"
				}
			}
			return string(f.re.ExpandString(nil, f.cause, lines[i], m))
		}
	}
	return ""
}

// usbPort is the COM port a USB build failed to open before it gave up.
func usbPort(lines []string) string {
	for _, l := range lines {
		if m := noCOMPort.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return ""
}

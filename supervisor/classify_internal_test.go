package supervisor

import (
	"strings"
	"testing"
)

// The last lines are those the real builds print (their README's observed
// behaviour without hardware); each gives its cause.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"INFO: [main] Starting the concentrator", "Opening SPI communication interface", "ERROR: [main] failed to start the concentrator"}, "no concentrator answered"},
		{[]string{"WARNING: [main] impossible to open /dev/i2c-1 for GPS sync (check permissions)", "ERROR: [main] failed to start the concentrator"}, "no concentrator answered"},
		{[]string{"sh: 1: ./reset_lgw.sh: not found", "ERROR: failed to reset SX1302, check your reset_lgw.sh script"}, "the reset script ./reset_lgw.sh failed"},
		{[]string{"ERROR: global_conf.json is not a valid JSON file"}, "global_conf.json is not valid JSON"},
		{[]string{"ERROR: local_conf.json is not a valid JSON file"}, "local_conf.json is not valid JSON"},
		{[]string{"INFO: global_conf.json does not contain a JSON object named SX130x_conf"}, "global_conf.json has no SX130x_conf section"},
		{[]string{"INFO: global_conf.json does not contain a JSON object named gateway_conf"}, "global_conf.json has no gateway_conf section"},
		{[]string{"ERROR: invalid configuration for Lora multi-SF channel 7"}, "the HAL refused Lora multi-SF channel 7"},
		{[]string{"ERROR: com_type must be configured in global_conf.json"}, "wrong forwarder build for this config"},
		{[]string{"ERROR: spidev path must be configured in global_conf.json"}, "wrong forwarder build for this config"},
		{[]string{"ERROR: failed to open COM port /dev/ttyACM0 - No such file or directory", "ERROR: [main] failed to start the concentrator"}, "no USB concentrator at /dev/ttyACM0"},
		{[]string{"ERROR: [up] getaddrinfo on address multiplexer (PORT 1681) returned Name or service not known"}, "the server address multiplexer does not resolve"},
		{[]string{"ERROR: [down] getaddrinfo on address gw (port 1680) returned Name or service not known"}, "the server address gw does not resolve"},
		{[]string{"ERROR: [main] failed to find any configuration file named global_conf.json, local_conf.json OR debug_conf.json"}, "no config file"},
		{[]string{"INFO: concentrator started", "ERROR: [up] failed packet fetch, exiting"}, ""},
		{nil, ""},
	} {
		got := classify(tc.lines)
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("classify(%q) = %q, want it to start with %q", tc.lines, got, tc.want)
		}
	}
}

package supervisor

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/regions"
)

// Config is the supervisor's configuration. cmd/pktfwd fills it from the
// environment by the tags below (hm-pktfwd's names): envconfig is the
// variable's name, default its value when unset, secret:"true" keeps the
// value out of every message. Nothing below cmd/pktfwd reads the
// environment.
//
// Validate checks some rules for every field by its name, so that a new
// field gets them without more code: a number named *_SECONDS must be 0 or
// within MinSeconds to MaxSeconds, a time.Duration within MinSeconds to
// MaxSeconds, and an int named *_PORT or *_PORT_* a UDP port.
type Config struct {
	Variant               string `envconfig:"VARIANT" desc:"hardware variant (hm-pyhelper name or legacy alias, see pktfwd variants); else read from NEBRA_ENVVARS_DIR/VARIANT"`
	NebraEnvvarsDir       string `envconfig:"NEBRA_ENVVARS_DIR" default:"/var/nebra/envvars" desc:"where hm-pktfwd's fallback file VARIANT is read when VARIANT is unset"`
	SPIBus                string `envconfig:"SPI_BUS" desc:"spidev node, e.g. spidev0.0 (default: from VARIANT)"`
	ResetPin              string `envconfig:"RESET_PIN" desc:"reset line as a legacy global GPIO number (default: from VARIANT)"`
	ResetGPIO             string `envconfig:"RESET_GPIO" desc:"reset line as gpiochipN:LINE or a line name, or none (no reset line, also with VARIANT); wins over RESET_PIN"`
	PowerEnGPIO           string `envconfig:"POWER_EN_GPIO" desc:"CoreCell power-enable line (gpiochipN:LINE or name)"`
	SX1261ResetGPIO       string `envconfig:"SX1261_RESET_GPIO" desc:"CoreCell SX1261 reset line (gpiochipN:LINE or name)"`
	ResetPinOverride      string `envconfig:"CONCENTRATOR_RESET_PIN_OVERRIDE" desc:"hm-pktfwd's reset override, a legacy global GPIO number: wins over VARIANT, loses to RESET_PIN and RESET_GPIO"`
	SX125xResetPin        string `envconfig:"SX125X_RESET_PIN_OVERRIDE" desc:"hm-pktfwd's extra reset line (SX125x_RESET_PIN_OVERRIDE), a legacy global GPIO number pulsed after the reset"`
	ConcentratorInterface string `envconfig:"CONCENTRATOR_INTERFACE" default:"spi" desc:"spi or usb"`
	USBDevice             string `envconfig:"USB_DEVICE" default:"/dev/ttyACM0" desc:"USB concentrator device"`
	Chip                  string `envconfig:"CHIP" default:"auto" desc:"auto, sx1301, sx1302 or sx1303 (skips the SPI probe)"`

	RegionOverride     string        `envconfig:"REGION_OVERRIDE" desc:"region plan name; wins over every other source"`
	RegionFilePath     string        `envconfig:"REGION_FILEPATH" default:"/var/pktfwd/region" desc:"region file written by the miner container"`
	GatewayRPCAddr     string        `envconfig:"GATEWAY_RPC_ADDR" desc:"gateway-rs local API, e.g. helium-miner:4467"`
	RegionCommand      string        `envconfig:"REGION_COMMAND" desc:"command printing the region, e.g. miner info region (no shell)"`
	RegionPollInterval time.Duration `envconfig:"REGION_POLL_INTERVAL" default:"60" desc:"how often the region is polled: seconds (60, 0.5) or a Go duration (1m)"`
	// RegionCommandTimeoutSeconds bounds each REGION_COMMAND run; 0 means 10.
	RegionCommandTimeoutSeconds float64 `envconfig:"REGION_COMMAND_TIMEOUT_SECONDS" default:"10" desc:"seconds REGION_COMMAND may run before it and every process of its group are killed"`

	DiagnosticsFilePath string `envconfig:"DIAGNOSTICS_FILEPATH" default:"/var/pktfwd/diagnostics" desc:"true while the forwarder runs, else false"`
	StatusFilePath      string `envconfig:"STATUS_FILEPATH" default:"/var/pktfwd/status.json" desc:"machine-readable status"`
	RootDir             string `envconfig:"ROOT_DIR" default:"/opt" desc:"where configs are written and the forwarder runs"`

	SX1302Forwarder        string `envconfig:"SX1302_LORA_PKT_FWD_FILEPATH" default:"/opt/sx1302/lora_pkt_fwd" desc:"SX1302/SX1303 forwarder"`
	SX1301Dir              string `envconfig:"SX1301_LORA_PKT_FWD_DIR" default:"/opt/sx1301" desc:"holds lora_pkt_fwd_<spibus> builds or lora_pkt_fwd (alias SX1301_DIR)"`
	SX1301RegionConfigsDir string `envconfig:"SX1301_REGION_CONFIGS_DIR" desc:"a maker's global_conf.json.<REGION> files for SX1301"`
	SX1302RegionConfigsDir string `envconfig:"SX1302_REGION_CONFIGS_DIR" desc:"a maker's global_conf.json.<REGION> files for SX1302/SX1303"`
	GlobalConfOverlay      string `envconfig:"GLOBAL_CONF_OVERLAY" desc:"JSON merge patch (RFC 7386) applied to the rendered config"`
	GatewayEUI             string `envconfig:"GATEWAY_EUI" desc:"16 hex digits (default: from GATEWAY_EUI_SOURCE)"`
	GatewayEUISource       string `envconfig:"GATEWAY_EUI_SOURCE" default:"mac" desc:"without GATEWAY_EUI: mac (hm-pktfwd's 0000 + MAC of eth0, else wlan0), chip (the SX1302/SX1303's EUI) or eui64 (MAC with FFFE)"`
	ServerAddress          string `envconfig:"SERVER_ADDRESS" default:"127.0.0.1" desc:"where the forwarder sends (gateway or multiplexer)"`
	ServerPortUp           int    `envconfig:"SERVER_PORT_UP" default:"1680" desc:"UDP port for uplinks"`
	ServerPortDown         int    `envconfig:"SERVER_PORT_DOWN" default:"1680" desc:"UDP port for downlinks"`
	// ServerAuto is true when none of SERVER_ADDRESS, SERVER_PORT_UP and
	// SERVER_PORT_DOWN was set: the forwarder then sends to hm-pktfwd's
	// multiplexer:1681 where that name resolves (a Nebra fleet's compose),
	// else to the defaults above. cmd/pktfwd sets it.
	ServerAuto bool `ignored:"true"`
	// Relay and Upstreams: pktfwd as the forwarder's GWMP server (relay.go).
	Relay     bool   `envconfig:"RELAY" default:"true" desc:"the forwarder sends to pktfwd on 127.0.0.1, which relays to SERVER_ADDRESS and UPSTREAMS and reports each (false: the forwarder sends to SERVER_ADDRESS itself, as before)"`
	Upstreams string `envconfig:"UPSTREAMS" desc:"more networks after SERVER_ADDRESS: comma-separated HOST:PORT ([IPv6]:PORT); prefix an entry with uplink-only: to refuse its downlinks (needs RELAY)"`

	AwaitSystemSleepSeconds            float64 `envconfig:"AWAIT_SYSTEM_SLEEP_SECONDS" default:"5" desc:"wait before the first start"`
	LoraPktFwdBeforeCheckSleepSeconds  float64 `envconfig:"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS" default:"5" desc:"how long the forwarder must stay up to count as started"`
	LoraPktFwdAfterSuccessSleepSeconds float64 `envconfig:"LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS" default:"30" desc:"status refresh interval while running"`
	LoraPktFwdAfterFailureSleepSeconds float64 `envconfig:"LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS" default:"2" desc:"first restart back-off (doubles up to 60 s)"`

	Watchdog             bool    `envconfig:"WATCHDOG" default:"true" desc:"restart a forwarder that runs but forwards nothing; false turns it off"`
	WatchdogNoAckSeconds float64 `envconfig:"WATCHDOG_NO_ACK_SECONDS" default:"300" desc:"report the upstream lost when PUSH_DATA went unacknowledged this long and no PULL_ACK came (0: off; never a restart)"`
	WatchdogNoRxSeconds  float64 `envconfig:"WATCHDOG_NO_RX_SECONDS" default:"0" desc:"restart when no radio packet was forwarded this long (0: off; quiet sites exist)"`
	MetricsAddr          string  `envconfig:"METRICS_ADDR" desc:"serve /metrics (Prometheus) and /healthz here, e.g. :9102 (off when empty)"`

	LogLevel  string `envconfig:"LOGLEVEL" default:"DEBUG" desc:"TRACE, DEBUG, INFO, WARNING (WARN), ERROR, CRITICAL (FATAL); any case"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"text" desc:"text or json"`

	SentryKey        string `envconfig:"SENTRY_KEY" secret:"true" desc:"Sentry DSN (alias SENTRY_PKTFWD); off when empty"`
	BalenaDeviceUUID string `envconfig:"BALENA_DEVICE_UUID" desc:"Sentry tag (alias BALENA_ID)"`
	BalenaAppName    string `envconfig:"BALENA_APP_NAME" desc:"Sentry tag"`
}

// Seconds converts one of the *_SECONDS settings.
func Seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Hardware resolves the variant and the explicit bus and line settings.
func (c Config) Hardware() (concentrator.Hardware, []error) {
	return concentrator.Resolve(concentrator.Settings{
		Variant: c.Variant, Interface: c.ConcentratorInterface, SPIBus: c.SPIBus, USBDevice: c.USBDevice,
		ResetPin: c.ResetPin, ResetGPIO: c.ResetGPIO, PowerEnGPIO: c.PowerEnGPIO, SX1261ResetGPIO: c.SX1261ResetGPIO,
		ResetPinOverride: c.ResetPinOverride, SX125xResetPinOverride: c.SX125xResetPin,
	})
}

// ChipModel is CHIP as a model; ok is false for "auto".
func (c Config) ChipModel() (m concentrator.Model, ok bool, err error) {
	if strings.EqualFold(c.Chip, "auto") || c.Chip == "" {
		return "", false, nil
	}
	m, err = concentrator.ParseModel(c.Chip)
	return m, err == nil, err
}

// MaxSeconds is the largest value any *_SECONDS variable or duration may
// have: one week. Larger values are typos (milliseconds for seconds) and
// would overflow once converted to a time.Duration.
const MaxSeconds = 7 * 24 * 3600

// MinSeconds is the smallest positive value any *_SECONDS variable or
// duration may have: one millisecond. Smaller values are typos and become
// timers of zero or a few nanoseconds, which spin or panic.
const MinSeconds = 0.001

// secondsFloors are the *_SECONDS variables that may not be 0, with their
// smallest value: LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS is how often
// status.json is rewritten (a ticker, which panics on 0).
var secondsFloors = map[string]float64{"LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS": 0.01}

// Validate checks every setting and reports every problem at once, as
// ConfigErrors in the order of the Config fields; nil when all is well.
func (c Config) Validate() error {
	var errs ConfigErrors
	add := func(name, reason string) { errs = append(errs, c.configError(name, reason)) }
	errs = append(errs, c.HardwareErrors()...)
	if _, _, err := c.ChipModel(); err != nil {
		add("CHIP", "want auto, sx1301, sx1302 or sx1303")
	}
	if c.RegionOverride != "" {
		if _, err := regions.Parse(c.RegionOverride); err != nil {
			add("REGION_OVERRIDE", err.Error())
		}
	}
	errs = append(errs, c.checkByName()...)
	if c.RegionPollInterval >= Seconds(MinSeconds) && c.RegionPollInterval < 10*time.Millisecond {
		add("REGION_POLL_INTERVAL", "want at least 10ms, e.g. 60 (seconds) or 1m")
	}
	if v := c.RegionCommandTimeoutSeconds; v > 3600 && v <= MaxSeconds {
		add("REGION_COMMAND_TIMEOUT_SECONDS", "want 0 to 3600 seconds, e.g. 10")
	}
	if _, err := configs.ParseEUISource(c.GatewayEUISource); err != nil {
		add("GATEWAY_EUI_SOURCE", err.Error())
	}
	if c.GatewayEUI != "" {
		if _, err := configs.ParseEUI(c.GatewayEUI); err != nil {
			add("GATEWAY_EUI", err.Error())
		}
	}
	if err := checkMetricsAddr(c.MetricsAddr); err != nil {
		add("METRICS_ADDR", err.Error())
	} else if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || !isTCPPort(port) {
			add("METRICS_ADDR", "want host:port or :port with a port of 1 to 65535, e.g. :9102")
		}
	}
	if c.ServerAddress == "" {
		add("SERVER_ADDRESS", "empty: want a host name or address, e.g. 127.0.0.1")
	}
	errs = append(errs, c.relayErrors()...)
	if c.GlobalConfOverlay != "" {
		if _, err := (configs.Files{"global_conf.json": []byte("{}")}).Overlay("the JSON merge patch", []byte(c.GlobalConfOverlay)); err != nil {
			add("GLOBAL_CONF_OVERLAY", err.Error())
		}
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		add("LOGLEVEL", err.Error())
	}
	if f := strings.ToLower(c.LogFormat); f != "text" && f != "json" {
		add("LOG_FORMAT", "want text or json")
	}
	if err := checkGatewayAddr(c.GatewayRPCAddr); err != nil {
		add("GATEWAY_RPC_ADDR", err.Error())
	}
	if c.RootDir == "" {
		add("ROOT_DIR", "empty: want the directory the forwarder runs in, e.g. /opt")
	}
	if len(errs) == 0 {
		return nil
	}
	errs.Sort()
	return errs
}

// checkByName applies the rules that follow from a field's type and
// variable name (see Config).
func (c Config) checkByName() ConfigErrors {
	var errs ConfigErrors
	v := reflect.ValueOf(c)
	for _, f := range reflect.VisibleFields(v.Type()) {
		name := f.Tag.Get("envconfig")
		if name == "" || !f.IsExported() {
			continue
		}
		var reason string
		switch x := v.FieldByIndex(f.Index).Interface().(type) {
		case time.Duration:
			if x < Seconds(MinSeconds) || x > MaxSeconds*time.Second {
				reason = fmt.Sprintf("want %g to %d seconds (1 ms to one week), e.g. 60 or 1m", MinSeconds, MaxSeconds)
			}
		case float64:
			if floor, ok := secondsFloors[name]; ok && !(x >= floor && x <= MaxSeconds) { // NaN fails both
				reason = fmt.Sprintf("want %g to %d seconds (one week), e.g. 30", floor, MaxSeconds)
			} else if !ok && strings.HasSuffix(name, "_SECONDS") && !(x == 0 || x >= MinSeconds && x <= MaxSeconds) {
				reason = fmt.Sprintf("want 0 or %g to %d seconds (1 ms to one week), e.g. 5 or 0.5", MinSeconds, MaxSeconds)
			}
		case int:
			if strings.HasSuffix(name, "_SECONDS") && (x < 0 || x > MaxSeconds) {
				reason = fmt.Sprintf("want 0 to %d seconds (one week)", MaxSeconds)
			}
			if (strings.HasSuffix(name, "_PORT") || strings.Contains(name, "_PORT_")) && (x < 1 || x > 65535) {
				reason = "want a UDP port, 1 to 65535"
			}
		}
		if reason != "" {
			errs = append(errs, c.configError(name, reason))
		}
	}
	return errs
}

// isTCPPort reports whether port is a port number of 0 to 65535 (0: the
// kernel picks a free one, as tests do).
func isTCPPort(port string) bool {
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n <= 65535
}

// ParseLogLevel reads LOGLEVEL: logrus's names and Python's (CRITICAL,
// FATAL, WARN, WARNING, NOTSET), in any case, as hm-pktfwd fleets set them
// (docs/configuration.md).
func ParseLogLevel(s string) (logrus.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL", "FATAL":
		return logrus.FatalLevel, nil
	case "NOTSET":
		return logrus.DebugLevel, nil
	}
	l, err := logrus.ParseLevel(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("want TRACE, DEBUG, INFO, WARNING (or WARN), ERROR or CRITICAL (or FATAL)")
	}
	return l, nil
}

package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"pktfwd/concentrator"
	"pktfwd/configs"
	"pktfwd/regions"
)

// Config is the supervisor's configuration. cmd/pktfwd fills it from the
// environment with envconfig (the tags below, hm-pktfwd's names); nothing
// below cmd/pktfwd reads the environment.
type Config struct {
	Variant               string `envconfig:"VARIANT" desc:"hardware variant (hm-pyhelper name or legacy alias, see pktfwd variants)"`
	SPIBus                string `envconfig:"SPI_BUS" desc:"spidev node, e.g. spidev0.0 (default: from VARIANT)"`
	ResetPin              string `envconfig:"RESET_PIN" desc:"reset line as a legacy global GPIO number (default: from VARIANT)"`
	ResetGPIO             string `envconfig:"RESET_GPIO" desc:"reset line as gpiochipN:LINE or a line name; wins over RESET_PIN"`
	PowerEnGPIO           string `envconfig:"POWER_EN_GPIO" desc:"CoreCell power-enable line (gpiochipN:LINE or name)"`
	SX1261ResetGPIO       string `envconfig:"SX1261_RESET_GPIO" desc:"CoreCell SX1261 reset line (gpiochipN:LINE or name)"`
	ConcentratorInterface string `envconfig:"CONCENTRATOR_INTERFACE" default:"spi" desc:"spi or usb"`
	USBDevice             string `envconfig:"USB_DEVICE" default:"/dev/ttyACM0" desc:"USB concentrator device"`
	Chip                  string `envconfig:"CHIP" default:"auto" desc:"auto, sx1301, sx1302 or sx1303 (skips the SPI probe)"`

	RegionOverride     string        `envconfig:"REGION_OVERRIDE" desc:"region plan name; wins over every other source"`
	RegionFilePath     string        `envconfig:"REGION_FILEPATH" default:"/var/pktfwd/region" desc:"region file written by the miner container"`
	GatewayRPCAddr     string        `envconfig:"GATEWAY_RPC_ADDR" desc:"gateway-rs local API, e.g. helium-miner:4467"`
	RegionCommand      string        `envconfig:"REGION_COMMAND" desc:"command printing the region, e.g. miner info region (no shell)"`
	RegionPollInterval time.Duration `envconfig:"REGION_POLL_INTERVAL" default:"60s" desc:"how often the region is polled"`

	DiagnosticsFilePath string `envconfig:"DIAGNOSTICS_FILEPATH" default:"/var/pktfwd/diagnostics" desc:"true while the forwarder runs, else false"`
	StatusFilePath      string `envconfig:"STATUS_FILEPATH" default:"/var/pktfwd/status.json" desc:"machine-readable status"`
	RootDir             string `envconfig:"ROOT_DIR" default:"/opt" desc:"where configs are written and the forwarder runs"`

	SX1302Forwarder        string `envconfig:"SX1302_LORA_PKT_FWD_FILEPATH" default:"/opt/sx1302/lora_pkt_fwd" desc:"SX1302/SX1303 forwarder"`
	SX1301Dir              string `envconfig:"SX1301_LORA_PKT_FWD_DIR" default:"/opt/sx1301" desc:"holds lora_pkt_fwd_<spibus> builds or lora_pkt_fwd (alias SX1301_DIR)"`
	SX1301RegionConfigsDir string `envconfig:"SX1301_REGION_CONFIGS_DIR" desc:"a maker's global_conf.json.<REGION> files for SX1301"`
	SX1302RegionConfigsDir string `envconfig:"SX1302_REGION_CONFIGS_DIR" desc:"a maker's global_conf.json.<REGION> files for SX1302/SX1303"`
	GlobalConfOverlay      string `envconfig:"GLOBAL_CONF_OVERLAY" desc:"JSON merge patch (RFC 7386) applied to the rendered config"`
	GatewayEUI             string `envconfig:"GATEWAY_EUI" desc:"16 hex digits (default: concentrator EUI, else MAC of eth0/wlan0)"`
	ServerAddress          string `envconfig:"SERVER_ADDRESS" default:"127.0.0.1" desc:"where the forwarder sends (gateway or multiplexer)"`
	ServerPortUp           int    `envconfig:"SERVER_PORT_UP" default:"1680" desc:"UDP port for uplinks"`
	ServerPortDown         int    `envconfig:"SERVER_PORT_DOWN" default:"1680" desc:"UDP port for downlinks"`

	AwaitSystemSleepSeconds            float64 `envconfig:"AWAIT_SYSTEM_SLEEP_SECONDS" default:"5" desc:"wait before the first start"`
	LoraPktFwdBeforeCheckSleepSeconds  float64 `envconfig:"LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS" default:"5" desc:"how long the forwarder must stay up to count as started"`
	LoraPktFwdAfterSuccessSleepSeconds float64 `envconfig:"LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS" default:"30" desc:"status refresh interval while running"`
	LoraPktFwdAfterFailureSleepSeconds float64 `envconfig:"LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS" default:"2" desc:"first restart back-off (doubles up to 60 s)"`

	LogLevel  string `envconfig:"LOGLEVEL" default:"DEBUG" desc:"TRACE, DEBUG, INFO, WARNING, ERROR"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"text" desc:"text or json"`

	SentryKey        string `envconfig:"SENTRY_KEY" desc:"Sentry DSN (alias SENTRY_PKTFWD); off when empty"`
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

// Validate checks every setting and reports every problem at once, each
// naming its variable, the bad value and what is accepted.
func (c Config) Validate() error {
	_, errs := c.Hardware()
	if _, _, err := c.ChipModel(); err != nil {
		errs = append(errs, fmt.Errorf("CHIP=%q: want auto, sx1301, sx1302 or sx1303", c.Chip))
	}
	if c.RegionOverride != "" {
		if _, err := regions.Parse(c.RegionOverride); err != nil {
			errs = append(errs, fmt.Errorf("REGION_OVERRIDE: %w", err))
		}
	}
	if c.RegionPollInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("REGION_POLL_INTERVAL=%s: want at least 10ms, e.g. 60s", c.RegionPollInterval))
	}
	for name, v := range map[string]float64{
		"AWAIT_SYSTEM_SLEEP_SECONDS": c.AwaitSystemSleepSeconds, "LORA_PKT_FWD_BEFORE_CHECK_SLEEP_SECONDS": c.LoraPktFwdBeforeCheckSleepSeconds,
		"LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS": c.LoraPktFwdAfterSuccessSleepSeconds, "LORA_PKT_FWD_AFTER_FAILURE_SLEEP_SECONDS": c.LoraPktFwdAfterFailureSleepSeconds,
	} {
		if v < 0 || v > 86400 {
			errs = append(errs, fmt.Errorf("%s=%v: want 0 to 86400 seconds", name, v))
		}
	}
	if c.LoraPktFwdAfterSuccessSleepSeconds == 0 {
		errs = append(errs, errors.New("LORA_PKT_FWD_AFTER_SUCCESS_SLEEP_SECONDS=0: want a positive number of seconds"))
	}
	if c.GatewayEUI != "" {
		if _, err := configs.ParseEUI(c.GatewayEUI); err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_EUI: %w", err))
		}
	}
	for name, p := range map[string]int{"SERVER_PORT_UP": c.ServerPortUp, "SERVER_PORT_DOWN": c.ServerPortDown} {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s=%d: want a UDP port, 1 to 65535", name, p))
		}
	}
	if c.ServerAddress == "" {
		errs = append(errs, errors.New("SERVER_ADDRESS is empty: want a host name or address, e.g. 127.0.0.1"))
	}
	if c.GlobalConfOverlay != "" {
		if _, err := (configs.Files{"global_conf.json": []byte("{}")}).Overlay("GLOBAL_CONF_OVERLAY", []byte(c.GlobalConfOverlay)); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := logrus.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("LOGLEVEL=%q: want TRACE, DEBUG, INFO, WARNING or ERROR", c.LogLevel))
	}
	if f := strings.ToLower(c.LogFormat); f != "text" && f != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	if err := checkGatewayAddr(c.GatewayRPCAddr); err != nil {
		errs = append(errs, err)
	}
	if c.RootDir == "" {
		errs = append(errs, errors.New("ROOT_DIR is empty: want the directory the forwarder runs in, e.g. /opt"))
	}
	return errors.Join(errs...)
}

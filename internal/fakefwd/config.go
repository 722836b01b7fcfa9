package fakefwd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// config is what the simulated forwarder takes from its configuration
// files, with the real forwarders' defaults (docs/fake-forwarder.md).
type config struct {
	coreCell   bool // SX1302/SX1303 family (SX130x_conf), else SX1301
	spi        bool // SX1302 family on SPI: reset_lgw.sh is run
	gatewayID  uint64
	server     string
	portUp     string
	portDown   string
	keepalive  time.Duration
	statEvery  time.Duration
	pushTO     time.Duration // push_timeout_ms; each of the two ack waits is half of it
	autoquit   uint32
	fakeGPS    bool
	lat, lon   float64
	alt        int
	radios     [2]radioConf
	channels   []channelConf // the enabled multi-SF channels
	forwardBad bool
}

type radioConf struct {
	Enable     bool    `json:"enable"`
	Type       string  `json:"type"`
	Freq       int     `json:"freq"`
	RSSIOffset float64 `json:"rssi_offset"`
	TxEnable   bool    `json:"tx_enable"`
	TxFreqMin  uint32  `json:"tx_freq_min"`
	TxFreqMax  uint32  `json:"tx_freq_max"`
}

type channelConf struct {
	Enable bool `json:"enable"`
	Radio  int  `json:"radio"`
	IF     int  `json:"if"`
	index  int
	freqHz uint32
}

// gatewayConf is the gateway_conf section; pointers tell a missing key
// from a zero value, as the real parser does.
type gatewayConf struct {
	ID          *string  `json:"gateway_ID"`
	Server      *string  `json:"server_address"`
	PortUp      *float64 `json:"serv_port_up"`
	PortDown    *float64 `json:"serv_port_down"`
	Keepalive   *float64 `json:"keepalive_interval"`
	Stat        *float64 `json:"stat_interval"`
	PushTimeout *float64 `json:"push_timeout_ms"`
	Autoquit    *float64 `json:"autoquit_threshold"`
	FakeGPS     *bool    `json:"fake_gps"`
	Lat         *float64 `json:"ref_latitude"`
	Lon         *float64 `json:"ref_longitude"`
	Alt         *float64 `json:"ref_altitude"`
	ForwardBad  *bool    `json:"forward_crc_error"`
}

// readConfig parses ./global_conf.json as the real builds do (SX1301:
// then local_conf.json, which overrides gateway_conf) and prints what it
// found; a non-zero code means exit with it.
func readConfig(out io.Writer) (c config, code int) {
	c = config{server: "127.0.0.1", portUp: "1780", portDown: "1782", keepalive: 5 * time.Second,
		statEvery: 30 * time.Second, pushTO: 100 * time.Millisecond}
	b, err := os.ReadFile("global_conf.json")
	var doc map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		fmt.Fprintln(out, "ERROR: global_conf.json is not a valid JSON file")
		return c, 1
	}
	section, ok := doc["SX130x_conf"]
	c.coreCell = ok
	if !ok {
		if section, ok = doc["SX1301_conf"]; !ok {
			fmt.Fprintln(out, "INFO: global_conf.json does not contain a JSON object named SX130x_conf")
			return c, 1
		}
	}
	if !c.readRadio(out, section) {
		return c, 1
	}
	if _, ok := doc["gateway_conf"]; !ok {
		fmt.Fprintln(out, "INFO: global_conf.json does not contain a JSON object named gateway_conf")
		return c, 1
	}
	var gw gatewayConf
	json.Unmarshal(doc["gateway_conf"], &gw)
	if !c.coreCell {
		var local struct {
			Gateway json.RawMessage `json:"gateway_conf"`
		}
		if b, err := os.ReadFile("local_conf.json"); err == nil && json.Unmarshal(b, &local) == nil && local.Gateway != nil {
			json.Unmarshal(local.Gateway, &gw)
		}
	}
	c.applyGateway(out, gw)
	return c, 0
}

// readRadio reads the radios and channels of the SX130x_conf or
// SX1301_conf section and prints them; false means an invalid channel.
func (c *config) readRadio(out io.Writer, section json.RawMessage) bool {
	var conf map[string]json.RawMessage
	json.Unmarshal(section, &conf)
	var com struct {
		Type string `json:"com_type"`
	}
	json.Unmarshal(section, &com)
	c.spi = c.coreCell && com.Type != "USB"
	for i := range c.radios {
		json.Unmarshal(conf[fmt.Sprintf("radio_%d", i)], &c.radios[i])
		r := c.radios[i]
		fmt.Fprintf(out, "INFO: radio %d enabled %v (type %s), center frequency %d, RSSI offset %.1f, tx enabled %v\n", i, r.Enable, r.Type, r.Freq, r.RSSIOffset, r.TxEnable)
	}
	for i := 0; i < 8; i++ {
		var ch channelConf
		json.Unmarshal(conf[fmt.Sprintf("chan_multiSF_%d", i)], &ch)
		if !ch.Enable {
			fmt.Fprintf(out, "INFO: Lora multi-SF channel %d disabled\n", i)
			continue
		}
		if ch.Radio < 0 || ch.Radio > 1 || ch.IF < -800000 || ch.IF > 800000 {
			fmt.Fprintf(out, "ERROR: invalid configuration for Lora multi-SF channel %d\n", i)
			return false
		}
		ch.index, ch.freqHz = i, uint32(c.radios[ch.Radio].Freq+ch.IF)
		c.channels = append(c.channels, ch)
		fmt.Fprintf(out, "INFO: Lora multi-SF channel %d>  radio %d, IF %d Hz, 125 kHz bw, SF 5 to 12\n", i, ch.Radio, ch.IF)
	}
	return true
}

// applyGateway takes the gateway_conf keys that are present, printing the
// real forwarder's line for each.
func (c *config) applyGateway(out io.Writer, gw gatewayConf) {
	p := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	if gw.ID != nil {
		c.gatewayID, _ = strconv.ParseUint(*gw.ID, 16, 64)
		p("INFO: gateway MAC address is configured to %016X", c.gatewayID)
	}
	if gw.Server != nil {
		c.server = *gw.Server
		p("INFO: server hostname or IP address is configured to %q", c.server)
	}
	if gw.PortUp != nil {
		c.portUp = strconv.Itoa(int(uint16(*gw.PortUp)))
		p("INFO: upstream port is configured to %q", c.portUp)
	}
	if gw.PortDown != nil {
		c.portDown = strconv.Itoa(int(uint16(*gw.PortDown)))
		p("INFO: downstream port is configured to %q", c.portDown)
	}
	if gw.Keepalive != nil {
		c.keepalive = time.Duration(int(*gw.Keepalive)) * time.Second
		p("INFO: downstream keep-alive interval is configured to %d seconds", int(*gw.Keepalive))
	}
	// The real forwarders take whole seconds; fractions are kept here so
	// that tests can run faster.
	if gw.Stat != nil && *gw.Stat > 0 {
		c.statEvery = time.Duration(*gw.Stat * float64(time.Second))
	}
	p("INFO: statistics display interval is configured to %g seconds", c.statEvery.Seconds())
	if gw.PushTimeout != nil {
		c.pushTO = time.Duration(*gw.PushTimeout) * time.Millisecond
		p("INFO: upstream PUSH_DATA time-out is configured to %d ms", c.pushTO.Milliseconds())
	}
	if gw.ForwardBad != nil {
		c.forwardBad = *gw.ForwardBad
	}
	if gw.Autoquit != nil {
		c.autoquit = uint32(*gw.Autoquit)
		p("INFO: Auto-quit after %d non-acknowledged PULL_DATA", c.autoquit)
	}
	if gw.FakeGPS != nil && *gw.FakeGPS {
		c.fakeGPS = true
		p("INFO: fake GPS is enabled")
	}
	if gw.Lat != nil {
		c.lat = *gw.Lat
	}
	if gw.Lon != nil {
		c.lon = *gw.Lon
	}
	if gw.Alt != nil {
		c.alt = int(*gw.Alt)
	}
}

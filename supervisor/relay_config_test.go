package supervisor_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"pktfwd/supervisor"
)

func TestParseUpstreams(t *testing.T) {
	got, errs := supervisor.ParseUpstreams(" eu1.cloud.thethings.network:1700 , uplink-only:[2001:db8::1]:1701,10.0.0.2:1680")
	want := []supervisor.UpstreamAddr{
		{Host: "eu1.cloud.thethings.network", PortUp: 1700, PortDown: 1700},
		{Host: "2001:db8::1", PortUp: 1701, PortDown: 1701, UplinkOnly: true},
		{Host: "10.0.0.2", PortUp: 1680, PortDown: 1680},
	}
	if len(errs) != 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, errs, want)
	}
	if n := got[1].Name(); n != "[2001:db8::1]:1701" {
		t.Errorf("Name of an IPv6 upstream = %q", n)
	}
}

func TestParseUpstreams_BadEntriesAreNamed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ttn.example", `entry 1 "ttn.example": no port`},
		{"a:1700,,b:1700", `entry 2 "": empty: remove the extra comma`},
		{"2001:db8::1:1700", `entry 1 "2001:db8::1:1700": an IPv6 address needs brackets`},
		{"ttn.example:17oo", `entry 1 "ttn.example:17oo": the port must be a number from 1 to 65535`},
		{"ttn.example:70000", "the port must be a number"},
		{":1700", `entry 1 ":1700": no valid host`},
		{"uplink-only:", "no port"},
	} {
		_, errs := supervisor.ParseUpstreams(tc.in)
		if err := errors.Join(errs...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseUpstreams(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestValidate_Upstreams(t *testing.T) {
	base := validConfig()
	for _, tc := range []struct {
		name      string
		relay     bool
		upstreams string
		want      string // "" = valid
	}{
		{"relay with two more", true, "ttn.example:1700,uplink-only:[::1]:1702", ""},
		{"direct without upstreams", false, "", ""},
		{"upstreams need the relay", false, "ttn.example:1700", "needs the relay"},
		{"the primary twice", true, "127.0.0.1:1680", "already set by SERVER_ADDRESS"},
		{"an entry twice", true, "a.example:1700,A.example:1700", "already set by an earlier entry"},
		{"too many", true, "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9", "9 entries: at most 8"},
		{"a bad entry", true, "a.example:1700,b.example", `entry 2 "b.example": no port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.Relay, c.Upstreams = tc.relay, tc.upstreams
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "UPSTREAMS") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an UPSTREAMS error containing %q", err, tc.want)
			}
		})
	}
}

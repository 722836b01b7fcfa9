package supervisor

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// UplinkOnlyPrefix marks an UPSTREAMS entry whose downlinks are refused:
// uplink-only:HOST:PORT (docs/relay.md).
const UplinkOnlyPrefix = "uplink-only:"

// MaxUpstreams bounds UPSTREAMS: each entry costs two sockets and a copy of
// every uplink, and a hotspot serves a handful of networks at most.
const MaxUpstreams = 8

// UpstreamAddr is one network the relay sends to, as configured.
type UpstreamAddr struct {
	Host             string // a name or an IP literal, without brackets
	PortUp, PortDown int
	UplinkOnly       bool // its PULL_RESP never reach the forwarder
}

// Name is how the upstream is configured and reported: HOST:PORT (the up
// port), with an IPv6 literal in brackets.
func (u UpstreamAddr) Name() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.PortUp)) }

// ParseUpstreams reads UPSTREAMS: comma-separated HOST:PORT entries, each
// optionally prefixed with UplinkOnlyPrefix, one port for up and down.
// Blanks around entries are ignored. Every bad entry is an error naming it
// and the fix.
func ParseUpstreams(s string) ([]UpstreamAddr, []error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var ups []UpstreamAddr
	var errs []error
	for i, entry := range strings.Split(s, ",") {
		u, err := parseUpstream(strings.TrimSpace(entry))
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d %q: %w", i+1, strings.TrimSpace(entry), err))
			continue
		}
		ups = append(ups, u)
	}
	return ups, errs
}

const upstreamExample = "want HOST:PORT, e.g. eu1.cloud.thethings.network:1700, [2001:db8::1]:1700 for IPv6, or uplink-only:HOST:PORT"

func parseUpstream(entry string) (UpstreamAddr, error) {
	if entry == "" {
		return UpstreamAddr{}, fmt.Errorf("empty: remove the extra comma")
	}
	rest, uplinkOnly := strings.CutPrefix(entry, UplinkOnlyPrefix)
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		if strings.Count(rest, ":") > 1 && !strings.HasPrefix(rest, "[") {
			return UpstreamAddr{}, fmt.Errorf("an IPv6 address needs brackets, e.g. [2001:db8::1]:1700")
		}
		return UpstreamAddr{}, fmt.Errorf("no port: %s", upstreamExample)
	}
	if host == "" || strings.ContainsAny(host, " \t/@") {
		return UpstreamAddr{}, fmt.Errorf("no valid host name or address: %s", upstreamExample)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return UpstreamAddr{}, fmt.Errorf("the port must be a number from 1 to 65535: %s", upstreamExample)
	}
	return UpstreamAddr{Host: host, PortUp: n, PortDown: n, UplinkOnly: uplinkOnly}, nil
}

// Primary is the first upstream: SERVER_ADDRESS and its ports as given
// (before hm-pktfwd's multiplexer default is considered; see
// Supervisor.primary).
func (c Config) primary() UpstreamAddr {
	return UpstreamAddr{Host: c.ServerAddress, PortUp: c.ServerPortUp, PortDown: c.ServerPortDown}
}

// relayErrors are the problems of RELAY and UPSTREAMS.
func (c Config) relayErrors() ConfigErrors {
	var errs ConfigErrors
	add := func(reason string) { errs = append(errs, c.configError("UPSTREAMS", reason)) }
	if c.Upstreams != "" && strings.TrimSpace(c.Upstreams) != "" && !c.Relay {
		add("needs the relay: unset RELAY=false, or unset UPSTREAMS")
		return errs
	}
	ups, bad := ParseUpstreams(c.Upstreams)
	for _, err := range bad {
		add(err.Error())
	}
	if len(ups) > MaxUpstreams {
		add(fmt.Sprintf("%d entries: at most %d, remove some", len(ups), MaxUpstreams))
	}
	seen := map[string]string{strings.ToLower(c.primary().Name()): "SERVER_ADDRESS and SERVER_PORT_UP"}
	for _, u := range ups {
		key := strings.ToLower(u.Name())
		if first, dup := seen[key]; dup {
			add(fmt.Sprintf("%s is already set by %s: remove it (each network once)", u.Name(), first))
			continue
		}
		seen[key] = "an earlier entry"
	}
	return errs
}

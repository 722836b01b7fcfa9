package supervisor

import (
	"context"
	"net"
	"time"
)

// serverLookupTimeout bounds the lookup of a SERVER_ADDRESS host name.
const serverLookupTimeout = 2 * time.Second

// serverIP returns the forwarder's server as an IP literal. The forwarders
// in the image are static glibc programs, whose host name lookups depend on
// NSS modules the image does not ship (docs/image.md), so pktfwd looks the
// name up itself. A name that does not resolve is kept: the
// forwarder then fails naming it, and the next start looks again.
func (s *Supervisor) serverIP(addr string) string {
	if net.ParseIP(addr) != nil {
		return addr
	}
	lookup := s.opt.LookupHost
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	ctx, cancel := context.WithTimeout(context.Background(), serverLookupTimeout)
	defer cancel()
	ips, err := lookup(ctx, addr)
	if err != nil || len(ips) == 0 {
		s.log.Warnf("server %s does not resolve (%v): the forwarder gets the name and will fail naming it; check SERVER_ADDRESS and that the container is on the server's network", addr, err)
		return addr
	}
	ip := ips[0]
	for _, a := range ips {
		if p := net.ParseIP(a); p != nil && p.To4() != nil {
			ip = a // the forwarders' sockets and Docker networks are IPv4 first
			break
		}
	}
	s.log.Infof("server %s is %s", addr, ip)
	return ip
}

package supervisor

import (
	"context"
	"net"
	"time"
)

// hm-pktfwd's fixed destination: the multiplexer container of Nebra's
// fleets (docs/hm-pktfwd.md).
const (
	hmServer = "multiplexer"
	hmPort   = 1681
)

// serverRecheck is how long a lookup of hmServer is trusted.
const serverRecheck = time.Minute

// server is where the forwarder sends: SERVER_ADDRESS and its ports when
// any of them is set; otherwise hm-pktfwd's multiplexer:1681 when that name
// resolves, so a fleet that only changes its image keeps sending where it
// did, else the defaults (127.0.0.1:1680, gateway-rs). The lookup is
// bounded and repeated at most once a minute; the choice is logged when it
// changes.
func (s *Supervisor) server() (addr string, up, down int) {
	addr, up, down = s.cfg.ServerAddress, s.cfg.ServerPortUp, s.cfg.ServerPortDown
	if !s.cfg.ServerAuto {
		return addr, up, down
	}
	if s.serverAt.IsZero() || time.Since(s.serverAt) > serverRecheck {
		s.serverAt = time.Now()
		lookup := s.opt.LookupHost
		if lookup == nil {
			lookup = net.DefaultResolver.LookupHost
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := lookup(ctx, hmServer)
		cancel()
		if hm := err == nil; hm != s.serverHM {
			s.serverHM = hm
			s.serverLogged = false
		}
	}
	if s.serverHM {
		addr, up, down = hmServer, hmPort, hmPort
	}
	if !s.serverLogged {
		s.serverLogged = true
		if s.serverHM {
			s.log.Infof("SERVER_ADDRESS is not set and %s resolves: sending to %s:%d as hm-pktfwd did", hmServer, hmServer, hmPort)
		} else {
			s.log.Infof("SERVER_ADDRESS is not set: sending to %s:%d (gateway-rs); set SERVER_ADDRESS for a multiplexer", addr, up)
		}
	}
	return addr, up, down
}

//go:build nogrpc

package supervisor

import (
	"context"
	"errors"
	"time"

	"pktfwd/regions"
)

// errNoGRPC is the lean build's answer to GATEWAY_RPC_ADDR: it leaves out
// the gateway-rs client (and gRPC with it) to save flash and RAM.
var errNoGRPC = errors.New("this pktfwd is the lean build (-tags nogrpc) and has no gateway-rs client: " +
	"unset GATEWAY_RPC_ADDR and give the region by REGION_OVERRIDE, REGION_COMMAND or the region file, or use the full build")

// checkGatewayAddr rejects GATEWAY_RPC_ADDR, so that a setting the build
// cannot honour stops the start instead of being ignored.
func checkGatewayAddr(addr string) error {
	if addr == "" {
		return nil
	}
	return errNoGRPC
}

// gatewaySource only exists so the region watcher compiles; Validate has
// already refused GATEWAY_RPC_ADDR, and Region says why if it is used anyway.
type gatewaySource struct{ addr string }

func newGatewaySource(addr string, _ time.Duration) *gatewaySource { return &gatewaySource{addr: addr} }

func (g *gatewaySource) Name() string { return "gateway " + g.addr }

func (g *gatewaySource) Region(context.Context) (string, regions.Plan, error) {
	return "", regions.Plan{}, checkGatewayAddr(g.addr)
}

// Close does nothing: there is no connection.
func (g *gatewaySource) Close() error { return nil }

package supervisor

import (
	"context"
	"errors"
	"time"

	"pktfwd/regions"
)

// gatewaySource asks gateway-rs's local API for the region.
type gatewaySource struct {
	addr    string
	timeout time.Duration
}

func newGatewaySource(addr string, timeout time.Duration) regionSource {
	return &gatewaySource{addr: addr, timeout: timeout}
}

func (g *gatewaySource) Name() string { return "gateway " + g.addr }

func (g *gatewaySource) Region(ctx context.Context) (string, regions.Plan, error) {
	return "", regions.Plan{}, errors.New("gateway API not implemented yet")
}

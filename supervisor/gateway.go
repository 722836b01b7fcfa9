//go:build !nogrpc

package supervisor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"pktfwd/internal/localapi"
	"pktfwd/regions"
)

// checkGatewayAddr accepts any GATEWAY_RPC_ADDR: this build has the
// gateway-rs client (gateway_nogrpc.go is the lean build's side).
func checkGatewayAddr(string) error { return nil }

// gatewaySource asks gateway-rs's local API (helium.local.api/region) for
// the region, with a timeout per call. The connection is made on first use
// and kept; gRPC reconnects by itself.
type gatewaySource struct {
	addr    string
	timeout time.Duration

	mu     sync.Mutex
	conn   *grpc.ClientConn
	client localapi.ApiClient
}

func newGatewaySource(addr string, timeout time.Duration) *gatewaySource {
	return &gatewaySource{addr: addr, timeout: timeout}
}

func (g *gatewaySource) Name() string { return "gateway " + g.addr }

func (g *gatewaySource) Region(ctx context.Context) (string, regions.Plan, error) {
	client, err := g.dial()
	if err != nil {
		return "", regions.Plan{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	res, err := client.Region(ctx, &localapi.RegionReq{})
	if err != nil {
		return "", regions.Plan{}, g.explain(err)
	}
	n := int(res.GetRegion())
	p, err := regions.ByNumber(n)
	if err != nil {
		return "", regions.Plan{}, fmt.Errorf("gateway %s: %w", g.addr, err)
	}
	name, _ := regions.EnumName(n)
	return name, p, nil
}

func (g *gatewaySource) dial() (localapi.ApiClient, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.client == nil {
		conn, err := grpc.NewClient(g.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("GATEWAY_RPC_ADDR=%q: %w", g.addr, err)
		}
		g.conn, g.client = conn, localapi.NewApiClient(conn)
	}
	return g.client, nil
}

// explain words a failed call; the wording is stable so that a repeated
// failure is logged once.
func (g *gatewaySource) explain(err error) error {
	switch status.Code(err) {
	case codes.Unavailable:
		return fmt.Errorf("gateway %s unreachable (is gateway-rs running, and GATEWAY_RPC_ADDR right?): %s", g.addr, status.Convert(err).Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("gateway %s did not answer within %s", g.addr, g.timeout)
	case codes.Canceled:
		return err
	}
	return fmt.Errorf("gateway %s: %w", g.addr, err)
}

// Close closes the connection.
func (g *gatewaySource) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conn == nil {
		return nil
	}
	return g.conn.Close()
}

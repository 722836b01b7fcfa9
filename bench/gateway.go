package main

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"pktfwd/internal/localapi"
)

// gateway is an in-process gateway-rs local API whose answer the bench
// changes.
type gateway struct {
	localapi.UnimplementedApiServer
	region atomic.Int32
}

func (g *gateway) Region(context.Context, *localapi.RegionReq) (*localapi.RegionRes, error) {
	return &localapi.RegionRes{Region: g.region.Load()}, nil
}

// measureGateway times gateway answer change → new forwarder started, with
// pktfwd polling the gateway every poll.
func measureGateway(b binaries, dir string, n int, poll time.Duration) ([]time.Duration, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gateway{}
	g.region.Store(1) // EU868
	srv := grpc.NewServer()
	localapi.RegisterApiServer(srv, g)
	go srv.Serve(lis)
	defer srv.Stop()
	in, err := newInstance(b, dir, "run", "GATEWAY_RPC_ADDR="+lis.Addr().String(), "REGION_POLL_INTERVAL="+poll.String())
	if err != nil {
		return nil, err
	}
	if err := in.start(); err != nil {
		return nil, err
	}
	defer in.stop()
	if _, err := in.waitFor("the first start", in.running("EU868_A")); err != nil {
		return nil, err
	}
	answers := []struct {
		n    int32
		plan string
	}{{0, "US915_SB2"}, {1, "EU868_A"}}
	var ds []time.Duration
	for i := 0; i < n; i++ {
		a := answers[i%2]
		old := readStatus(in.status).PID
		began := time.Now()
		g.region.Store(a.n)
		at, err := in.waitFor(a.plan, func() bool {
			s := readStatus(in.status)
			return s.Region == a.plan && s.PID != 0 && s.PID != old
		})
		if err != nil {
			return nil, err
		}
		ds = append(ds, at.Sub(began))
		if _, err := in.waitFor("running", in.running(a.plan)); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

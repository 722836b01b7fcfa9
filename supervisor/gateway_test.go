//go:build !nogrpc

package supervisor_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"

	"pktfwd/internal/localapi"
	"pktfwd/supervisor"
)

// gateway is a real in-process gRPC server for helium.local.api/region.
type gateway struct {
	localapi.UnimplementedApiServer
	region atomic.Int32
	hang   atomic.Bool
	calls  atomic.Int32
	addr   string
	srv    *grpc.Server
}

func startGateway(t *testing.T, region int32) *gateway {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{addr: lis.Addr().String(), srv: grpc.NewServer()}
	g.region.Store(region)
	localapi.RegisterApiServer(g.srv, g)
	go g.srv.Serve(lis)
	t.Cleanup(g.srv.Stop)
	return g
}

func (g *gateway) Region(ctx context.Context, _ *localapi.RegionReq) (*localapi.RegionRes, error) {
	g.calls.Add(1)
	if g.hang.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &localapi.RegionRes{Region: g.region.Load()}, nil
}

func TestGateway_FollowsTheAnswer(t *testing.T) {
	gw := startGateway(t, 1) // EU868
	h := newHarness(t)
	h.cfg.GatewayRPCAddr, h.cfg.RegionPollInterval = gw.addr, 50*time.Millisecond
	h.start()
	e, next := h.wait("EU868 from the gateway", 0, h.running("EU868_A"))
	if e.RegionSource != "gateway "+gw.addr {
		t.Errorf("source %q", e.RegionSource)
	}
	var worst time.Duration
	for _, step := range []struct {
		n    int32
		plan string
	}{{0, "US915_SB2"}, {12, "AS923_1B"}, {22, "AU915_SB2"}} {
		began := time.Now()
		gw.region.Store(step.n)
		_, next = h.wait(step.plan+" started", next, func(e event) bool { return e.Region == step.plan && e.PID != 0 })
		worst = max(worst, time.Since(began))
		_, next = h.wait(step.plan, next, h.running(step.plan))
	}
	t.Logf("gateway answer change → new forwarder started: worst %s at a 50ms poll", worst)
}

func TestGateway_ProblemsKeepTheLastGoodRegion(t *testing.T) {
	gw := startGateway(t, 14) // RU864
	h := newHarness(t)
	h.cfg.GatewayRPCAddr, h.cfg.RegionPollInterval = gw.addr, 50*time.Millisecond
	h.start()
	e, next := h.wait("RU864", 0, h.running("RU864_A"))

	gw.region.Store(4) // CN779: no plan
	h.waitLog(logrus.WarnLevel, "CN779", 1)
	gw.region.Store(99) // not asserted
	h.waitLog(logrus.InfoLevel, "not asserted", 1)
	gw.hang.Store(true)
	h.waitLog(logrus.WarnLevel, "did not answer within", 1)
	// A hung gateway call delays neither a restart nor a signal.
	if err := syscall.Kill(e.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e2, _ := h.wait("a restart while the gateway hangs", next, func(x event) bool { return x.State == supervisor.StateRunning && x.PID != e.PID })
	if e2.Region != "RU864_A" {
		t.Errorf("region %s", e2.Region)
	}
	gw.hang.Store(false)
	gw.srv.Stop() // refused from now on
	h.waitLog(logrus.WarnLevel, "unreachable", 1)
	if h.last().PID != e2.PID || !alive(e2.PID) {
		t.Error("the forwarder was touched by gateway problems")
	}
	for _, s := range []string{"CN779", "did not answer", "unreachable"} {
		if n := countLevel(h, logrus.WarnLevel, s); n != 1 {
			t.Errorf("%q logged %d times", s, n)
		}
	}
	h.stop()
	if h.last().State != supervisor.StateStopped {
		t.Errorf("state %s after stop", h.last().State)
	}
}

func TestGateway_NotAssertedWaitsQuietly(t *testing.T) {
	gw := startGateway(t, 99)
	h := newHarness(t)
	h.cfg.GatewayRPCAddr, h.cfg.RegionPollInterval = gw.addr, 100*time.Millisecond // also the call timeout: a loaded machine needs more than 20ms
	h.cfg.RegionFilePath = ""
	h.start()
	h.wait("waiting_for_region", 0, func(e event) bool { return e.State == supervisor.StateWaitingForRegion })
	for gw.calls.Load() < 5 {
		h.waitLog(logrus.DebugLevel, "not asserted", int(gw.calls.Load()))
	}
	if n := countLevel(h, logrus.WarnLevel, "") + countLevel(h, logrus.ErrorLevel, ""); n != 0 {
		t.Errorf("%d warnings or errors while waiting for an assertion:\n%s", n, h.logText())
	}
	gw.region.Store(8)
	h.wait("IN865", 0, h.running("IN865_A"))
}

func TestPrecedence(t *testing.T) {
	gw := startGateway(t, 7) // KR920
	script := filepath.Join(t.TempDir(), "miner")
	os.WriteFile(script, []byte("#!/bin/sh\necho region_in865\n"), 0o755)
	for _, tc := range []struct {
		name, override, gateway, command, plan, source string
	}{
		{"override first", "RU864", gw.addr, script, "RU864_A", "REGION_OVERRIDE"},
		{"then the gateway", "", gw.addr, script, "KR920_A", "gateway " + gw.addr},
		{"then the command", "", "127.0.0.1:1", script, "IN865_A", "command " + script},
		{"then the file", "", "127.0.0.1:1", "", "EU868_A", "file "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.RegionOverride, h.cfg.GatewayRPCAddr, h.cfg.RegionCommand = tc.override, tc.gateway, tc.command
			h.writeRegion("EU868")
			h.start()
			e, _ := h.wait(tc.plan, 0, h.running(tc.plan))
			if tc.source == "file " {
				tc.source += h.cfg.RegionFilePath
			}
			if e.RegionSource != tc.source {
				t.Errorf("source %q, want %q", e.RegionSource, tc.source)
			}
		})
	}
}

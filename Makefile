# Shortcuts; each target is one documented command.
.PHONY: build build-lean test test-lean demo release bench bench-readme bench-relay lint generate image image-lean image-arm64 image-e2e

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS = -s -w -X main.version=$(VERSION)
# The lean flavour's tags, and the packages they change (its tests run there).
LEAN_TAGS = nogrpc,nosentry,nometrics
LEAN_PKGS = ./supervisor ./cmd/pktfwd

# The full flavour: every feature. grpcnotrace leaves out gRPC's optional
# request tracing (golang.org/x/net/trace), which pktfwd never serves;
# nethttpomithttp2 leaves HTTP/2 out of net/http (Sentry and /metrics speak
# HTTP/1.1; gRPC has its own HTTP/2). See docs/binary-size.md.
FULL_TAGS = grpcnotrace,nethttpomithttp2
build:
	CGO_ENABLED=0 go build -trimpath -tags $(FULL_TAGS) -ldflags "$(LDFLAGS)" -o pktfwd ./cmd/pktfwd

# The lean flavour for small firmware images: no gateway-rs client, no Sentry.
build-lean:
	CGO_ENABLED=0 go build -trimpath -tags $(LEAN_TAGS) -ldflags "$(LDFLAGS)" -o pktfwd-lean ./cmd/pktfwd

test:
	go test -race ./...

test-lean:
	go test -race -tags $(LEAN_TAGS) $(LEAN_PKGS)

demo:
	go run ./cmd/pktfwd demo

release:
	bash scripts/release.sh dist

# The image for this machine's platform, with whatever Docker builder is
# here (scripts/image.sh says how: FORWARDER_SRC=DIR builds offline from
# source archives, PLATFORM picks another platform).
image:
	bash scripts/image.sh

image-lean:
	FLAVOUR=lean TAG=pktfwd:lean bash scripts/image.sh

# The arm64 image, under emulation on another host (qemu-user-static and
# binfmt-support installed).
image-arm64:
	PLATFORM=linux/arm64 TAG=pktfwd:arm64 bash scripts/image.sh

# CI's image stage: build with the fake forwarder, run it end to end.
image-e2e:
	bash scripts/image-e2e.sh

# The table the README quotes.
bench:
	go run ./bench

# The relay against the direct path (docs/relay-bench.md): GWMP_LOAD names
# gwmp-load.py; PEER=/path/to/chirpstack-packet-multiplexer adds the peer.
bench-relay:
	go run ./bench/relay -load "$(GWMP_LOAD)" $(if $(PEER),-peer "$(PEER)") -out /tmp/relay-bench

# Run the benchmarks and put their table into README.md between its markers.
# Memory is read after one hour of running (the goal is for an hour), so
# this takes about 70 minutes.
bench-readme:
	go run ./bench -window 1h -readme README.md

# The gRPC stubs (needs protoc) and the help's variable table.
generate:
	cd internal/localapi && go generate
	go test ./cmd/pktfwd -run TestEnvironmentTable -update

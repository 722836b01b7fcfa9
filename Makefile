# Shortcuts; each target is one documented command.
.PHONY: build test demo release bench lint generate

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o pktfwd ./cmd/pktfwd

test:
	go test -race ./...

demo:
	go run ./cmd/pktfwd demo

release:
	bash scripts/release.sh dist

bench:
	go run ./bench

generate:
	cd internal/localapi && go generate

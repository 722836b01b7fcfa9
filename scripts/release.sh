#!/usr/bin/env bash
# Builds static, stripped pktfwd binaries for the four hotspot targets into
# DIR (default dist/), in two flavours, with SHA-256 checksums, and prints
# their sizes:
#   pktfwd-linux-<arch>       full: every feature (-tags grpcnotrace,nethttpomithttp2:
#                             no gRPC request tracing, no HTTP/2 in net/http)
#   pktfwd-lean-linux-<arch>  lean: no gateway-rs client, no Sentry
#                             (-tags nogrpc,nosentry,nometrics), for small firmware images
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
mkdir -p "$out"
for flavour in full lean; do
	case $flavour in
	full) tags=grpcnotrace,nethttpomithttp2 prefix=pktfwd ;;
	lean) tags=nogrpc,nosentry,nometrics prefix=pktfwd-lean ;;
	esac
	for target in linux/arm64 linux/arm/7 linux/arm/6 linux/amd64; do
		IFS=/ read -r goos goarch goarm <<<"$target"
		name="$prefix-$goos-$goarch${goarm:+v$goarm}"
		CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=$goarm \
			go build -trimpath -tags "$tags" -ldflags "-s -w -X main.version=$version" -o "$out/$name" ./cmd/pktfwd
		size=$(stat -c %s "$out/$name")
		awk -v n="$name" -v s="$size" 'BEGIN { printf "%-30s %9d bytes  %6.2f MB\n", n, s, s / 1e6 }'
	done
done
(cd "$out" && sha256sum pktfwd-* > SHA256SUMS)

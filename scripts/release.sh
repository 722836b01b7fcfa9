#!/usr/bin/env bash
# Builds static, stripped pktfwd binaries for the four hotspot targets into
# DIR (default dist/), with SHA-256 checksums, and prints their sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
mkdir -p "$out"
for target in linux/arm64 linux/arm/7 linux/arm/6 linux/amd64; do
	IFS=/ read -r goos goarch goarm <<<"$target"
	name="pktfwd-$goos-$goarch${goarm:+v$goarm}"
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=$goarm \
		go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out/$name" ./cmd/pktfwd
	printf '%-24s %8d bytes\n' "$name" "$(stat -c %s "$out/$name")"
done
(cd "$out" && sha256sum pktfwd-* > SHA256SUMS)

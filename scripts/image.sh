#!/usr/bin/env bash
# Builds the pktfwd image (Dockerfile) with whatever Docker builder is here
# (classic or BuildKit), on a machine whose only registries may be Debian's
# and the Go module proxy. `make image` runs it.
#
# Environment (defaults in brackets):
#   PLATFORM [the engine's]   linux/amd64, linux/arm64, linux/arm/v7; another
#                             than the engine's runs under emulation (binfmt)
#   TAG [pktfwd:latest]       the image's name
#   FLAVOUR [full]            full or lean (see Makefile)
#   FORWARDER_SRC [unset]     a directory with sx1302_hal-SHA.tar.gz,
#                             lora_gateway-SHA.tar.gz, packet_forwarder-SHA.tar.gz
#                             (`git archive --prefix=NAME/ SHA | gzip`) for the
#                             pinned SHAs: an offline build; unset, the build
#                             downloads them from GitHub
#   FORWARDERS [source]       prebuilt: take image/bin/sx1302/ and image/bin/sx1301/
#   FORWARDER_BIN [unset]     with FORWARDERS=prebuilt: one static program
#                             installed as every forwarder (CI's fake forwarder)
#   BASE [debian:bookworm-slim, else made here]  the build stages' base image
#
# pktfwd is built on this machine when `go` is here (static, for PLATFORM)
# and passed in; without Go the Dockerfile builds it in golang:1.26-bookworm.
# Where debian:bookworm-slim can be neither found nor pulled, the base is made
# with mmdebstrap from this machine's apt sources and kept as
# pktfwd-base:bookworm-ARCH, so later builds reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

docker=${DOCKER:-docker}
platform=${PLATFORM:-$($docker version -f '{{.Server.Os}}/{{.Server.Arch}}')}
tag=${TAG:-pktfwd:latest}
flavour=${FLAVOUR:-full}
forwarders=${FORWARDERS:-source}
case $flavour in
full) tags=grpcnotrace,nethttpomithttp2 ;;
lean) tags=nogrpc,nosentry,nometrics ;;
*) echo "FLAVOUR=$flavour: want full or lean" >&2; exit 2 ;;
esac
IFS=/ read -r _ arch variant <<<"$platform"
debarch=$arch
case $arch/${variant:-} in
amd64/ | arm64/ | arm64/v8) ;;
arm/v7) debarch=armhf ;;
*) echo "PLATFORM=$platform: want linux/amd64, linux/arm64 or linux/arm/v7" >&2; exit 2 ;;
esac

# The inputs the build takes from the context; emptied again on exit.
cleanup() { rm -rf image/src image/bin; }
trap cleanup EXIT
cleanup
mkdir -p image/src image/bin

# pinned NAME SHA pairs, read from the Dockerfile's build arguments.
pinned() {
	sed -n 's/^ARG \(SX1302_HAL\|LORA_GATEWAY\|PACKET_FORWARDER\)_SHA=\([0-9a-f]*\)$/\1 \2/p' Dockerfile |
		while read -r name sha; do echo "${name,,} $sha"; done
}
if [ -n "${FORWARDER_SRC:-}" ]; then
	while read -r name sha; do
		f="$FORWARDER_SRC/$name-$sha.tar.gz"
		[ -f "$f" ] || { echo "FORWARDER_SRC: $f is missing (make it with: git -C $name archive --prefix=$name/ $sha | gzip > $f)" >&2; exit 1; }
		cp "$f" image/src/
	done < <(pinned)
fi
if [ -n "${FORWARDER_BIN:-}" ]; then
	forwarders=prebuilt
	install -D -m 0755 "$FORWARDER_BIN" image/bin/sx1302/lora_pkt_fwd
	install -D -m 0755 "$FORWARDER_BIN" image/bin/sx1301/lora_pkt_fwd_spidev0.0
	ln -s lora_pkt_fwd_spidev0.0 image/bin/sx1301/lora_pkt_fwd
fi

# The base image: Debian's, else one made here.
base=${BASE:-debian:bookworm-slim}
if [ -z "${BASE:-}" ] && ! $docker image inspect "$base" >/dev/null 2>&1 &&
	! timeout 60 $docker pull --platform "$platform" "$base" >/dev/null 2>&1; then
	base=pktfwd-base:bookworm-$debarch
	if ! $docker image inspect "$base" >/dev/null 2>&1; then
		echo "== no $base: making it with mmdebstrap (about a minute)"
		sources=/etc/apt/sources.list.d/debian.sources
		[ -f "$sources" ] || sources=/etc/apt/sources.list
		rootfs=$(mktemp -d)/rootfs.tar
		mmdebstrap --quiet --variant=minbase --arch="$debarch" bookworm "$rootfs" "$sources"
		$docker import "$rootfs" "$base" >/dev/null
		rm -rf "$(dirname "$rootfs")"
	fi
fi

# An engine without experimental features records its own
# architecture on import; the builder then refuses the base for
# another platform. Set the architecture in the image's config.
if [ "${base%%:*}" = pktfwd-base ] && [ "$($docker image inspect -f '{{.Architecture}}' "$base")" != "$arch" ]; then
	fix=$(mktemp -d)
	$docker save "$base" | tar -x -C "$fix"
	sed -i "s/\"architecture\":\"[a-z0-9]*\"/\"architecture\":\"$arch\"/" "$fix"/[0-9a-f]*.json
	tar -c -C "$fix" . | $docker load >/dev/null
	rm -rf "$fix"
fi

args=(--build-arg "BASE=$base" --build-arg "FORWARDERS=$forwarders" --build-arg "TAGS=$tags")
if command -v go >/dev/null; then
	goarm=${variant#v}
	[ "$arch" = arm ] || goarm=
	version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOARM=$goarm \
		go build -trimpath -tags "$tags" -ldflags "-s -w -X main.version=$version" -o image/bin/pktfwd ./cmd/pktfwd
	args+=(--build-arg PKTFWD=prebuilt --build-arg "GO_IMAGE=$base")
fi

echo "== building $tag for $platform ($flavour, forwarders: $forwarders${FORWARDER_SRC:+ from $FORWARDER_SRC}) on $base"
platformarg=()
[ "$platform" = "$($docker version -f '{{.Server.Os}}/{{.Server.Arch}}')" ] || platformarg=(--platform "$platform")
$docker build --network host "${platformarg[@]}" "${args[@]}" -t "$tag" .
size=$($docker image inspect -f '{{.Size}}' "$tag")
awk -v t="$tag" -v s="$size" 'BEGIN { printf "%s: %.1f MB (%d bytes) uncompressed\n", t, s / 1e6, s }'

# pktfwd with the Semtech forwarders, everything static, on an empty base.
#
#   make image                         # this machine's platform, any builder
#   make image FORWARDER_SRC=DIR       # offline: sources from DIR (see image/README.md)
#   make image-arm64                   # arm64 (under emulation on another host)
#   docker buildx build --platform linux/arm64,linux/arm/v7,linux/amd64 -t pktfwd .
#
# It builds with the classic builder, BuildKit/buildx, `docker-compose
# build` (v1) and balena's builder: no stage names a --platform, every stage
# runs on the target platform (emulated where needed), so pktfwd is built
# for it without cross-compiling flags.
#
# Build arguments (defaults in brackets):
#   BASE [debian:bookworm-slim]       the build stages' base; scripts/image.sh
#                                     makes one with mmdebstrap where no image
#                                     registry is reachable
#   GO_IMAGE [golang:1.26-bookworm]   builds pktfwd; with PKTFWD=prebuilt any
#                                     image with a /bin/sh
#   PKTFWD [source]                   source: `go build` here; prebuilt: take
#                                     image/bin/pktfwd (built for the target)
#   FORWARDERS [source]               source: build the forwarders from
#                                     image/src/NAME-SHA.tar.gz where present,
#                                     else download them from GitHub at the
#                                     pinned commit; prebuilt: take
#                                     image/bin/sx1302/ and image/bin/sx1301/
#                                     (CI uses the fake forwarder this way)

ARG BASE=debian:bookworm-slim
ARG GO_IMAGE=golang:1.26-bookworm

# --- the forwarders and the run-time files, all static: Lora-net sx1302_hal
# V2.1.0 (SX1302/SX1303, SPI and USB) and, for SX1301, lora_gateway v5.0.1
# with packet_forwarder v4.0.1. The SX1301 SPI path is compiled in, so there
# is one build per bus the variant table uses, plus plain lora_pkt_fwd, a
# link to the spidev0.0 build (the name pktfwd falls back to).
FROM ${BASE} AS rootfs
ARG FORWARDERS=source
ARG SX1302_HAL_SHA=4b42025d1751e04632c0b04160e0d29dbbb222a5
ARG LORA_GATEWAY_SHA=a955619271b5d0a46d32e08150acfbc1eed183b7
ARG PACKET_FORWARDER_SHA=d0226eae6e7b6bbaec6117d0d2372bf17819c438
ARG SPI_BUSES="spidev0.0 spidev1.0 spidev1.2 spidev2.0 spidev5.0 spidev32766.0"
RUN set -e; want="busybox-static ca-certificates"; \
	if [ "$FORWARDERS" = source ]; then want="$want build-essential curl"; fi; \
	if ! dpkg -s $want >/dev/null 2>&1; then \
		apt-get update; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $want; \
		rm -rf /var/lib/apt/lists/*; \
	fi
WORKDIR /build
COPY image/ /in/
RUN set -e; \
	fetch() { \
		f="/in/src/$1-$2.tar.gz"; \
		if [ ! -f "$f" ]; then \
			echo "$f is absent: downloading $1 at $2 from GitHub"; \
			f="/build/$1.tar.gz"; \
			curl -fsSL --retry 3 -o "$f" "https://github.com/Lora-net/$1/archive/$2.tar.gz"; \
		fi; \
		mkdir "$1"; tar -xzf "$f" -C "$1" --strip-components=1; \
	}; \
	case "$FORWARDERS" in \
	prebuilt) \
		test -x /in/bin/sx1302/lora_pkt_fwd && test -x /in/bin/sx1301/lora_pkt_fwd \
			|| { echo "FORWARDERS=prebuilt: put static builds in image/bin/sx1302/lora_pkt_fwd and image/bin/sx1301/lora_pkt_fwd[_BUS]" >&2; exit 1; }; \
		mkdir -p /rootfs/opt; cp -a /in/bin/sx1302 /in/bin/sx1301 /rootfs/opt/ ;; \
	source) \
		fetch sx1302_hal "$SX1302_HAL_SHA"; \
		make -C sx1302_hal -j"$(nproc)" CC="gcc -static" libtools libloragw packet_forwarder; \
		install -D -s -m 0755 sx1302_hal/packet_forwarder/lora_pkt_fwd /rootfs/opt/sx1302/lora_pkt_fwd; \
		fetch lora_gateway "$LORA_GATEWAY_SHA"; \
		fetch packet_forwarder "$PACKET_FORWARDER_SHA"; \
		for bus in $SPI_BUSES; do \
			sed -i "s|^#define SPI_DEV_PATH .*|#define SPI_DEV_PATH \"/dev/${bus}\"|" lora_gateway/libloragw/src/loragw_spi.native.c; \
			make -C lora_gateway/libloragw -j"$(nproc)" CC="gcc -static" libloragw.a; \
			make -C packet_forwarder/lora_pkt_fwd -j"$(nproc)" CC="gcc -static" lora_pkt_fwd; \
			install -D -s -m 0755 packet_forwarder/lora_pkt_fwd/lora_pkt_fwd "/rootfs/opt/sx1301/lora_pkt_fwd_${bus}"; \
		done; \
		ln -s lora_pkt_fwd_spidev0.0 /rootfs/opt/sx1301/lora_pkt_fwd ;; \
	*) echo "FORWARDERS=$FORWARDERS: want source or prebuilt" >&2; exit 1 ;; \
	esac; \
	test -x /rootfs/opt/sx1301/lora_pkt_fwd; \
	mkdir -p /rootfs/bin /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/var/pktfwd; \
	chmod 1777 /rootfs/tmp; \
	cp /bin/busybox /rootfs/bin/busybox; \
	ln -s busybox /rootfs/bin/sh; \
	cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/
# The SX1302 forwarder runs ./reset_lgw.sh from ROOT_DIR; pktfwd installs
# it there on start, and it ships here too for running by hand.
COPY scripts/reset_lgw.sh /rootfs/opt/reset_lgw.sh

# --- pktfwd itself, static, built for the platform this stage runs on.
FROM ${GO_IMAGE} AS pktfwd
ARG PKTFWD=source
ARG VERSION=dev
ARG TAGS=grpcnotrace,nethttpomithttp2
WORKDIR /src
COPY . .
RUN set -e; mkdir -p /out; \
	case "$PKTFWD" in \
	prebuilt) \
		test -x image/bin/pktfwd || { echo "PKTFWD=prebuilt: put a static pktfwd for the target in image/bin/pktfwd" >&2; exit 1; }; \
		cp image/bin/pktfwd /out/pktfwd ;; \
	source) \
		CGO_ENABLED=0 go build -trimpath -tags "$TAGS" -ldflags "-s -w -X main.version=${VERSION}" -o /out/pktfwd ./cmd/pktfwd ;; \
	*) echo "PKTFWD=$PKTFWD: want source or prebuilt" >&2; exit 1 ;; \
	esac

# --- the image: nothing but static programs, busybox's sh for
# reset_lgw.sh, and the CA bundle (an https Sentry DSN, gateway-rs over TLS).
FROM scratch
COPY --from=rootfs /rootfs/ /
COPY --from=pktfwd /out/pktfwd /usr/local/bin/pktfwd
ENV PATH=/usr/local/bin:/bin \
	ROOT_DIR=/opt \
	SX1302_LORA_PKT_FWD_FILEPATH=/opt/sx1302/lora_pkt_fwd \
	SX1301_LORA_PKT_FWD_DIR=/opt/sx1301 \
	REGION_FILEPATH=/var/pktfwd/region \
	DIAGNOSTICS_FILEPATH=/var/pktfwd/diagnostics \
	STATUS_FILEPATH=/var/pktfwd/status.json
VOLUME /var/pktfwd
STOPSIGNAL SIGTERM
# Healthy only while a forwarder runs and its statistics are fresh and
# pass the watchdog (see `pktfwd health`); the start period covers the
# wait before the first start and the first stat interval.
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m --retries=3 CMD ["/usr/local/bin/pktfwd", "health"]
ENTRYPOINT ["/usr/local/bin/pktfwd"]

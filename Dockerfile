# syntax=docker/dockerfile:1
#
# pktfwd with the Semtech forwarders, for linux/arm64, linux/arm/v7,
# linux/arm/v6 and linux/amd64:
#
#   docker buildx build --platform linux/arm64,linux/arm/v7,linux/arm/v6,linux/amd64 -t pktfwd .
#
# Pin the forwarder sources to commits for a reproducible image with
# --build-arg SX1302_HAL_REF=<sha> (and LORA_GATEWAY_REF, PACKET_FORWARDER_REF);
# the defaults are the release tags.

ARG DEBIAN=bookworm
ARG GO_VERSION=1.26

# --- SX1302/SX1303 forwarder: Lora-net sx1302_hal 2.1.0 (SX1303 and USB
# support; the config pktfwd renders suits Helium's fork too). Built for the
# target platform (emulated by buildx where needed).
FROM debian:${DEBIAN}-slim AS sx1302
ARG SX1302_HAL_REF=V2.1.0
RUN apt-get update \
	&& apt-get install -y --no-install-recommends build-essential ca-certificates git \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /build
RUN git clone https://github.com/Lora-net/sx1302_hal.git \
	&& git -C sx1302_hal checkout --detach "${SX1302_HAL_REF}" \
	&& make -C sx1302_hal -j"$(nproc)" libtools libloragw packet_forwarder \
	&& install -D -m 0755 sx1302_hal/packet_forwarder/lora_pkt_fwd /out/sx1302/lora_pkt_fwd

# --- SX1301 forwarder: Lora-net lora_gateway + packet_forwarder. The SPI
# path is compiled in, so there is one build per bus the variant table uses,
# plus plain lora_pkt_fwd, a link to the spidev0.0 build (the name pktfwd
# falls back to when no lora_pkt_fwd_<bus> exists).
FROM debian:${DEBIAN}-slim AS sx1301
ARG LORA_GATEWAY_REF=v5.0.1
ARG PACKET_FORWARDER_REF=v4.0.1
ARG SPI_BUSES="spidev0.0 spidev1.0 spidev1.2 spidev2.0 spidev5.0 spidev32766.0"
RUN apt-get update \
	&& apt-get install -y --no-install-recommends build-essential ca-certificates git \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /build
RUN git clone https://github.com/Lora-net/lora_gateway.git \
	&& git -C lora_gateway checkout --detach "${LORA_GATEWAY_REF}" \
	&& git clone https://github.com/Lora-net/packet_forwarder.git \
	&& git -C packet_forwarder checkout --detach "${PACKET_FORWARDER_REF}"
RUN set -e; for bus in ${SPI_BUSES}; do \
		sed -i "s|^#define SPI_DEV_PATH .*|#define SPI_DEV_PATH \"/dev/${bus}\"|" lora_gateway/libloragw/src/loragw_spi.native.c; \
		make -C lora_gateway/libloragw clean all; \
		make -C packet_forwarder/lora_pkt_fwd clean all; \
		install -D -m 0755 packet_forwarder/lora_pkt_fwd/lora_pkt_fwd "/out/sx1301/lora_pkt_fwd_${bus}"; \
	done; \
	test -x /out/sx1301/lora_pkt_fwd_spidev0.0; \
	ln -s lora_pkt_fwd_spidev0.0 /out/sx1301/lora_pkt_fwd

# --- pktfwd itself: static, cross-compiled on the build platform.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-${DEBIAN} AS pktfwd
ARG TARGETOS TARGETARCH TARGETVARIANT
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} GOARM=${TARGETVARIANT#v} \
	go build -trimpath -tags grpcnotrace,nethttpomithttp2 -ldflags "-s -w -X main.version=${VERSION}" -o /out/pktfwd ./cmd/pktfwd

# --- the image: a slim base (the forwarders link against glibc).
FROM debian:${DEBIAN}-slim
COPY --from=sx1302 /out/sx1302 /opt/sx1302
COPY --from=sx1301 /out/sx1301 /opt/sx1301
COPY --from=pktfwd /out/pktfwd /usr/local/bin/pktfwd
# CA certificates, so that an https Sentry DSN can be verified.
COPY --from=pktfwd /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The SX1302 forwarder runs ./reset_lgw.sh from ROOT_DIR; pktfwd installs
# it there on start, and it ships here too for running by hand.
COPY scripts/reset_lgw.sh /opt/reset_lgw.sh
ENV ROOT_DIR=/opt \
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

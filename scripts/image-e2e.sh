#!/usr/bin/env bash
# CI's image stage: builds the image and runs it end to end with the shipped
# docker-compose.yml (internal/deploy TestImage_ComposeEndToEnd). It needs
# root and Debian's apt; it installs docker.io, docker-compose and mmdebstrap
# when missing, starts its own dockerd when none answers (stopped on exit),
# and builds with a stand-in forwarder stage: the project's fake forwarder,
# built static, as every lora_pkt_fwd (FORWARDER_BIN), and pktfwd built here
# and passed in, so neither GitHub nor a registry is needed. The base image
# is made once with mmdebstrap and kept by name (scripts/image.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
if [ ${#need[@]} -gt 0 ]; then
	echo "== installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
dockerd_pid=
stop() {
	if [ -n "$dockerd_pid" ]; then
		kill "$dockerd_pid" 2>/dev/null || true
		wait "$dockerd_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap stop EXIT
if ! docker info >/dev/null 2>&1; then
	echo "== starting dockerd (log: $tmp/dockerd.log)"
	dockerd --bridge=none --iptables=false >"$tmp/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 100); do
		docker info >/dev/null 2>&1 && break
		kill -0 "$dockerd_pid" 2>/dev/null || { cat "$tmp/dockerd.log" >&2; exit 1; }
		sleep 0.2
	done
	docker info >/dev/null
fi

echo "== the fake forwarder, static"
CGO_ENABLED=0 go build -trimpath -o "$tmp/lora_pkt_fwd" ./internal/fakefwd/lora_pkt_fwd

image=pktfwd:e2e
FORWARDER_BIN="$tmp/lora_pkt_fwd" TAG=$image bash scripts/image.sh
built=$(date +%s)

echo "== end to end with docker-compose.yml + internal/deploy/testdata/compose-e2e.yml"
PKTFWD_E2E_IMAGE=$image PKTFWD_E2E_FAKEFWD="$tmp/lora_pkt_fwd" \
	go test -count=1 -v -run '^TestImage_ComposeEndToEnd$' ./internal/deploy | tee "$tmp/test.log"
grep -q '^--- PASS: TestImage_ComposeEndToEnd' "$tmp/test.log" || { echo "TestImage_ComposeEndToEnd did not pass" >&2; exit 1; }
done=$(date +%s)
echo "image stage: build $((built - began)) s, end to end $((done - built)) s, total $((done - began)) s"

#!/bin/sh
# reset_lgw.sh, installed into ROOT_DIR by pktfwd.
#
# The SX1302/SX1303 lora_pkt_fwd runs "./reset_lgw.sh start" before it starts
# the concentrator (and "stop" on a clean exit), and exits if this fails.
# Under the pktfwd supervisor, which holds the GPIO lines for its lifetime and
# resets the concentrator right before each start, there is nothing to do.
# Run by hand, it performs the reset through the pktfwd binary.
[ -n "$PKTFWD_SUPERVISED" ] && exit 0
case "$1" in
start | stop) exec "${PKTFWD_BIN:-pktfwd}" reset "$1" ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# Guest side of the QEMU streams test: the host pushes StreamsTestDevice (1209:5354, SuperSpeed) to this guest's usb-redir
# port on qemu-xhci; once it has enumerated, a libusb program allocates bulk streams on it and round-trips data on each.
# $1 = the libusb_streams_client executable (built on the host), $2 = streams to allocate.
set -euo pipefail
present() { grep -qsx 5354 /sys/bus/usb/devices/*/idProduct; }
for _ in $(seq 240); do present && break; sleep 0.5; done
present || { echo "the streams test device did not enumerate" >&2; exit 1; }
sleep 0.5 # let the kernel finish configuring it
"$1" 1209 5354 "$2"

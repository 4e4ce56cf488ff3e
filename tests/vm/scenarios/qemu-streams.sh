#!/usr/bin/env bash
# Guest side of the QEMU streams test: the host pushes StreamsTestDevice (1209:5354, SuperSpeed) to this guest's usb-redir
# port on qemu-xhci; once it has enumerated, a libusb program allocates bulk streams on it and round-trips data on each.
# $1 = the libusb_streams_client executable (built on the host), $2 = streams to allocate.
set -euo pipefail
present() { grep -qsx 5354 /sys/bus/usb/devices/*/idProduct; }
# The kernel has selected a configuration once the device's interface 0 shows up: libusb can claim it from then on.
configured() { local d; for d in /sys/bus/usb/devices/*; do [ "$(cat "$d/idProduct" 2>/dev/null)" = 5354 ] && [ -e "$d/$(basename "$d"):1.0" ] && return 0; done; return 1; }
for _ in $(seq 240); do present && break; sleep 0.5; done
present || { echo "the streams test device did not enumerate" >&2; exit 1; }
for _ in $(seq 600); do configured && break; sleep 0.1; done
configured || { echo "the streams test device was never configured" >&2; exit 1; }
"$1" 1209 5354 "$2"

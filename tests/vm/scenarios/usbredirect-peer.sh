#!/usr/bin/env bash
# Guest side of the usbredirect-peer tests. usbredirect (the reference usb-host) exports one of QEMU's emulated devices
# (usb-storage 46f4:0001 by default, usb-audio 46f4:0002, usb-uas 46f4:0003) to 127.0.0.1:4000 inside the guest, where
# socat carries the stream to the virtio-serial port "redir", which qemu connects to the host's UsbRedir server. Keeps
# exporting until the host writes "host-done".
# $1 = shared directory, $2 = the device's vid:pid (default 46f4:0001).
set -euo pipefail
shared=$1
device=${2:-46f4:0001}
present() { grep -qsx "${device#*:}" /sys/bus/usb/devices/*/idProduct && grep -qsx "${device%:*}" /sys/bus/usb/devices/*/idVendor; }
for _ in $(seq 120); do present && break; sleep 0.5; done
present || { echo "qemu's device $device did not enumerate in the guest" >&2; exit 1; }
# usbredirect detaches any kernel driver that got there first; say which one, to read the run's log.
for i in /sys/bus/usb/devices/*:*; do
  [ -e "$i/driver" ] && echo "$(basename "$i") bound to $(basename "$(readlink "$i/driver")") before usbredirect"
done

socat TCP-LISTEN:4000,bind=127.0.0.1,reuseaddr /dev/virtio-ports/redir &
bridge=$!
# usbredirect connects once and gives up if nobody listens: wait for socat's socket (127.0.0.1:4000, LISTEN), not a moment.
listening() { grep -q '^ *[0-9]*: 0100007F:0FA0 00000000:0000 0A ' /proc/net/tcp; }
for _ in $(seq 600); do listening && break; sleep 0.1; done
listening || { echo "socat never listened on 127.0.0.1:4000" >&2; exit 1; }
usbredirect --device "$device" --to 127.0.0.1:4000 -v 3 &
redirect=$!
for _ in $(seq 360); do
  [ -e "$shared/host-done" ] && break
  kill -0 "$redirect" 2>/dev/null || break
  sleep 0.5
done
if [ ! -e "$shared/host-done" ]; then
  echo "usbredirect ended before the host was done" >&2
  wait "$redirect" || echo "usbredirect exit status $?" >&2
  exit 1
fi
echo "usbredirect exported the device until the host was done"
kill "$redirect" "$bridge" 2>/dev/null || true
wait 2>/dev/null || true

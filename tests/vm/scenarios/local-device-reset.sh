#!/usr/bin/env bash
# Guest side of LocalDeviceResetVmTests: the host test's DfuTestDevice, pushed into this guest's usb-redir (a USB device of
# this kernel like any other), exported by our exporter (usbredir connect --listen, LocalUsbDevice over libusb) to the
# scripted usb-guest tests/interop/usbredir_guest_peer.c (Debian's libusbredirparser), which detaches it and resets it
# (the steps of local-device-reset/dfu.steps). The reset brings the device back as another device: this
# kernel enumerates it anew (new device number, new usbfs node) and the exporter must open it again at its port.
# Prints PASS/FAIL lines (checks.sh) and INFO lines; the transcript goes to $shared/dfu.txt.
#   local-device-reset.sh SHARED CLI.dll PEER
set -u
shared=$1 cli=$2 peer=$3
here=$(dirname "$0")
. "$here/checks.sh"
echo 10 > /proc/sys/kernel/hung_task_timeout_secs

# busid VID PID: the device with these ids
busid() { local v b; for v in /sys/bus/usb/devices/*/idVendor; do b=$(basename "$(dirname "$v")")
  [ "$(cat "$v")" = "$1" ] && [ "$(cat "/sys/bus/usb/devices/$b/idProduct")" = "$2" ] && { echo "$b"; return 0; }; done; return 1; }

check dfu.runtime-device-enumerated poll 120 quiet busid 1209 000e
b=$(busid 1209 000e)
echo "INFO run-time device $b, $(cat "/sys/bus/usb/devices/$b/speed") Mb/s, node /dev/bus/usb/$(printf %03d "$(cat "/sys/bus/usb/devices/$b/busnum")")/$(printf %03d "$(cat "/sys/bus/usb/devices/$b/devnum")")"
dotnet "$cli" connect "$b" --listen 127.0.0.1:47960 --verbose > /tmp/export.txt 2>&1 &
export=$!
check export.listening poll 120 listening 47960
echo "INFO ($(cut -d' ' -f1 /proc/uptime) s) the peer runs the steps"
"$peer" 47960 "$here/local-device-reset/dfu.steps" > "$shared/dfu.txt" 2> /tmp/peer.err
echo "INFO peer rc=$? $(tr '\n' ' ' < /tmp/peer.err)"
check dfu.mode-device-enumerated quiet busid 1209 000f
check dfu.runtime-device-gone gone busid 1209 000e
d=$(busid 1209 000f) && echo "INFO DFU-mode device $d, node /dev/bus/usb/$(printf %03d "$(cat "/sys/bus/usb/devices/$d/busnum")")/$(printf %03d "$(cat "/sys/bus/usb/devices/$d/devnum")")"
check export.opened-it-again grep -q "came back from the reset as another device; opening it again" /tmp/export.txt
check export.not-gone eval '! grep -q " is gone: " /tmp/export.txt'
stop $export; rc=$?
check export.sigterm-exit-0 [ "$rc" = 0 ]
sed 's/^/INFO export: /' /tmp/export.txt | tail -60
dmesg | grep -i "usb 1-\|usb 2-\|usbfs\|blocked for more than" | tail -30 | sed 's/^/INFO dmesg /'
[ "$fails" = 0 ] && echo "SUMMARY all passed" || { echo "SUMMARY $fails failed"; exit 1; }

#!/usr/bin/env bash
# Guest side of the server end-to-end test: `usbredir server` on our vhci-ctrl module, and `usbredir connect` pushing
# a virtual disk to it over guest loopback TCP. The guest kernel must enumerate the disk, usb-storage must bind, the
# known file must read back with its checksum, a new file must reach the image, and both processes must stop cleanly.
#   server-e2e.sh MODULE.ko CLI.dll IMAGE KNOWN_SHA256
# Prints PASS/FAIL lines and exits non-zero if anything failed.
set -u
ko=$1 cli=$2 img=$3 known=$4
. "$(dirname "$0")/checks.sh"
# The sdX of the UsbRedir disk (vendor 1209), found from its USB device down to the SCSI disk.
usb_disk() {
  local u b
  for u in /sys/bus/usb/devices/*; do
    [ "$(cat "$u/idVendor" 2>/dev/null)" = 1209 ] || continue
    for b in "$u"/*/host*/target*/*/block/*; do [ -e "$b" ] && { basename "$b"; return 0; }; done
  done
  return 1
}
no_disk() { ! usb_disk >/dev/null; }
storage_bound() { ls /sys/bus/usb/drivers/usb-storage/ 2>/dev/null | grep -q ':1\.0$'; }
no_controller() { ! ls -d /sys/devices/platform/usbredir_vhci.* >/dev/null 2>&1; }
stop() { kill -TERM "$1" 2>/dev/null; local rc; wait "$1"; rc=$?; return $rc; }

check module.loaded insmod "$ko"
poll 5 test -c /dev/vhci-ctrl
dotnet "$cli" server --ports 2 --port 1138 --address 127.0.0.1 --backend vhci-ctrl >/tmp/server.out 2>&1 &
server=$!
check server.listening poll 120 grep -q '^listening: 127.0.0.1:1138, 2 ports' /tmp/server.out
dotnet "$cli" connect --disk "$img" --server 127.0.0.1:1138 >/tmp/connect.out 2>&1 &
client=$!
# Under TCG on a loaded host the first descriptor reads run .NET code not compiled yet, in two processes; the kernel's
# 5 s control timeout can expire and enumeration starts over (seen: first read timed out 60 s after the connect).
check disk.enumerated poll 300 usb_disk
check server.plugged grep -q '^plugged: UsbRedir Virtual Disk (1209:0001, serial [0-9A-F]*) from 127.0.0.1:[0-9]* into port 1$' /tmp/server.out
check disk.usb-storage-bound poll 10 storage_bound
mkdir -p /mnt/stick
check disk.mounted mount "/dev/$(usb_disk)" /mnt/stick
sum=$(sha256sum /mnt/stick/known.bin 2>/dev/null | cut -d' ' -f1)
check disk.checksum test "$sum" = "$known"
echo "written through usbredir server" >/mnt/stick/from-guest.txt && sync
check disk.unmounted umount /mnt/stick

stop "$client"; rc=$?
check client.stopped-cleanly test "$rc" -eq 0
check disk.gone poll 20 no_disk
check server.unplugged poll 10 grep -q '^unplugged: UsbRedir Virtual Disk' /tmp/server.out
stop "$server"; rc=$?
check server.stopped-cleanly test "$rc" -eq 0
check server.summary grep -q '^stopped: served 1 connections' /tmp/server.out
check controller.removed poll 10 no_controller
check module.unloaded rmmod usbredir_vhci

if [ "$fails" -ne 0 ]; then
  sed 's/^/  server: /' /tmp/server.out
  sed 's/^/  connect: /' /tmp/connect.out
fi
[ "$fails" -eq 0 ]

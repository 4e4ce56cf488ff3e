#!/usr/bin/env bash
# Guest side of LocalDeviceFaultVmTests: our CLI exports qemu's emulated usb-storage (46f4:0001) of this guest to our own
# server in the same guest (usbip backend: vhci_hcd), and the faults happen to it, in one boot:
#  1. odd-length control transfers, a control stall, a bulk stall and its clear-halt, from a libusb program on the
#     forwarded disk (tests/interop/libusb_msd_faults.c) through the server and the exporter to the real usb-msd;
#  2. the peer killed mid-read (SIGKILL of the server): the exporter keeps the device and reconnects to the next server;
#  3. the original removed mid-read (QMP device_del, by the host when asked through the shared folder): the read ends,
#     the server gets device_disconnect, every pending transfer completes and the exporter waits for the device; the
#     disk added without a port (QEMU: the next free port, a serial number made from it: another device) is not taken;
#     added back at its port (device_add port=1) it is exported again by itself within 5 s, with the same bytes; SIGTERM
#     ends the exporter cleanly and usb-storage binds to the original again. (An earlier version re-added the disk
#     without a port and saw no re-attach for minutes: that was this other device, which the export rightly leaves alone.)
# Every md5 is printed as "INFO md5.PATH ...", the host compares them. No hung task: the host checks the kernel log.
# $1 = shared directory, $2 = UsbRedir.Cli.dll, $3 = libusb_msd_faults.
set -uo pipefail
shared=$1 cli=$2 faults=$3
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/local-disks.sh"
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
echo 0 > /sys/module/usb_storage/parameters/delay_use
original() { grep -lx 46f4 /sys/bus/usb/devices/*/idVendor 2>/dev/null | head -n1 | xargs -r dirname | xargs -r basename; }
orig_present() { [ -n "$(original)" ]; }
sectors_of() { awk '{ print $3 }' "/sys/block/$1/stat"; }
read_past() { [ "$(sectors_of "$1")" -ge "$2" ]; }
# read_through DISK: reads DISK over and over in the background ($reader) until the reads fail; returns once it is under way.
read_through() {
  local start; start=$(sectors_of "$1")
  (while dd if="/dev/$1" of=/dev/null bs=64k iflag=direct 2>/dev/null; do :; done) &
  reader=$!
  poll 60 read_past "$1" $((start + 256))
}
server() { # server LOG: our server on 127.0.0.1:4010 into vhci_hcd, in the background ($server)
  dotnet "$cli" server --ports 2 --port 4010 --address 127.0.0.1 --backend usbip --verbose > "$1" 2>&1 &
  server=$!
  poll 120 grep -q '^listening: 127.0.0.1:4010' "$1"
}
plugs() { grep -c '^plugged: ' "$1"; }

poll 60 eval 'orig=$(original); [ -n "$orig" ] && storage_bound'
check original.bound storage_bound
serial=$(cat "/sys/bus/usb/devices/$orig/serial")
echo "INFO original $orig $(orig_disk) serial $serial"
echo "INFO md5.direct $(disk_md5 "$(orig_disk)")"

server /tmp/server1.txt
dotnet "$cli" connect "$orig" 127.0.0.1:4010 --verbose --max-reconnect-delay 1 > /tmp/export.txt 2>&1 &
export=$!
check forward.disk-appears poll 120 other_disk
d=$(other_disk)
echo "INFO md5.forwarded $(disk_md5 "$d")"

# 1. Control with odd lengths, stalls and clear-halt, answered by the real usb-msd; usb-storage binds again afterwards.
fwd=$(usb_of "$d")
"$faults" "$(cat "/sys/bus/usb/devices/$fwd/busnum")" "$(cat "/sys/bus/usb/devices/$fwd/devnum")" "/sys/bus/usb/devices/$orig/descriptors" > /tmp/faults.txt 2>&1
echo "INFO msd faults on $fwd rc=$? $(tr '\n' ' ' < /tmp/faults.txt)"
check control.odd-lengths grep -q '^ok odd-length control' /tmp/faults.txt
check control.stall grep -q '^ok control stall' /tmp/faults.txt
check control.class-request grep -q '^ok class request' /tmp/faults.txt
check bulk.stall-and-clear-halt grep -q '^ok bulk stall' /tmp/faults.txt
check faults.storage-binds-again poll 60 other_disk

# 2. The peer killed mid-read: the read ends, every pending transfer of the exporter completes, the exporter keeps the
# device (usb-storage stays off the original) and reconnects; the next server gets it.
read_through "$(other_disk)"
kill -KILL $server; wait $server 2>/dev/null
check peer-killed.reader-ends poll 60 eval '! kill -0 $reader 2>/dev/null'
check peer-killed.exporter-reconnects poll 30 grep -q '^state: Reconnecting' /tmp/export.txt
check peer-killed.exporter-still-running kill -0 $export
check peer-killed.storage-stays-claimed eval '! storage_bound'
poll 60 no_other_disk
server /tmp/server2.txt
check peer-killed.plugged-into-the-next-peer poll 120 grep -q '^plugged: ' /tmp/server2.txt
check peer-killed.disk-appears poll 120 other_disk
echo "INFO md5.after-peer-killed $(disk_md5 "$(other_disk)")"

# 3. device_del mid-read, then device_add: the exporter waits for the device; a device added at another port (another
# serial number) is not taken; the device added back at its port is re-exported by itself within 5 s.
read_through "$(other_disk)"
touch "$shared/unplug"
check unplug.reader-ends poll 60 eval '! kill -0 $reader 2>/dev/null'
check unplug.original-gone poll 60 eval '! orig_present'
check unplug.redirected-disk-gone poll 60 no_other_disk
check unplug.peer-gets-device-disconnect poll 30 grep -q 'device disconnected by the peer' /tmp/server2.txt
check unplug.exporter-waits-for-the-device poll 30 grep -q '^state: WaitingForDevice' /tmp/export.txt
check unplug.exporter-still-running kill -0 $export
check unplug.every-transfer-completed eval '! grep -q "did not complete" /tmp/export.txt'
# What the re-attach below does, with timestamps (printed after it): the guest clock against the exporter's log clock,
# usbfs's log of the exporter's open, claim and reset in the kernel log, and any task waiting in the kernel (D state).
echo "INFO clock uptime $(cut -d' ' -f1 /proc/uptime) date $(date +%T.%N)"
echo 0 > /sys/module/usbcore/parameters/usbfs_snoop_max; echo 1 > /sys/module/usbcore/parameters/usbfs_snoop
mark=$(cut -d' ' -f1 /proc/uptime)
(while :; do u=$(cut -d' ' -f1 /proc/uptime)
  for f in $(awk '{ sub(/.*\) /, ""); if ($1 == "D") print FILENAME }' /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null); do
    t=${f%/stat}; echo "$u D $(cat "$t/comm") ${t#/proc/} $(tr '\n' ' ' < "$t/stack")"; done
  sleep 0.5; done) > /tmp/dstate.txt 2>/dev/null &
sampler=$!
serial_of() { cat "/sys/bus/usb/devices/$1/serial" 2>/dev/null; }
# QEMU's usb-storage added without a port takes the next free one, and makes its serial number from that port: another
# busid and another serial, so by the export's rule (same busid, or same VID:PID and serial) it is another device.
touch "$shared/plug-elsewhere"
poll 60 orig_present; elsewhere=$(original)
echo "INFO elsewhere: $elsewhere serial $(serial_of "$elsewhere") at $(cut -d' ' -f1 /proc/uptime) s (the original: $orig serial $serial)"
check elsewhere.another-port-and-serial eval '[ "$elsewhere" != "$orig" ] && [ "$(serial_of "$elsewhere")" != "$serial" ]'
sleep 5
check elsewhere.not-taken eval '[ "$(plugs /tmp/server2.txt)" -eq 1 ] && [ "$(basename "$(readlink "/sys/bus/usb/devices/$elsewhere:1.0/driver")")" = usb-storage ]'
check elsewhere.export-says-why grep -q "at $elsewhere has serial number $(serial_of "$elsewhere"), not $serial: another device, not taken" /tmp/export.txt
touch "$shared/unplug-elsewhere"
check elsewhere.gone poll 60 eval '! orig_present'
# The same device back at its port (device_add port=1): the export re-opens it by itself.
touch "$shared/plug-in"
poll 60 orig_present; back=$(cut -d' ' -f1 /proc/uptime)
check reattach.plugged-again poll 60 eval '[ "$(plugs /tmp/server2.txt)" -ge 2 ]'
again=$(cut -d' ' -f1 /proc/uptime)
echo "INFO reattach: the original back at ${back} s (serial $(serial_of "$orig")), plugged again at ${again} s"
check reattach.within-5-s awk -v a="$back" -v b="$again" 'BEGIN { exit !(b - a <= 5) }'
check reattach.disk-appears poll 60 other_disk
kill $sampler; echo 0 > /sys/module/usbcore/parameters/usbfs_snoop
echo "INFO clock uptime $(cut -d' ' -f1 /proc/uptime) date $(date +%T.%N)"
sed 's/^/INFO diag /' /tmp/dstate.txt | head -200
dmesg | awk -v m="$mark" '{ t = substr($0, 2, index($0, "]") - 2) + 0 } t >= m' | grep -Ev 'SUBMITURB|REAPURB|userurb|urb complete|reap |control urb' |
  sed 's/^/INFO kmsg /' | head -150
sed 's/^/INFO exportlog /' /tmp/export.txt | tail -40
sed 's/^/INFO server2log /' /tmp/server2.txt | tail -30
echo "INFO md5.reattached $(disk_md5 "$(other_disk)")"

stop $export; rc=$?; echo "INFO export rc=$rc $(tr '\n' ' ' < /tmp/export.txt)"
check end.exporter-stops-cleanly test "$rc" -eq 0
check end.every-transfer-completed eval '! grep -q "did not complete" /tmp/export.txt'
check end.disk-gone poll 60 no_other_disk
check end.storage-reattached poll 60 storage_bound
stop $server; echo "INFO server rc=$? $(tr '\n' ' ' < /tmp/server1.txt) / $(tr '\n' ' ' < /tmp/server2.txt)"
dmesg | grep -A30 "blocked for more than" | sed 's/^/INFO dmesg /' | head -120
[ "$fails" = 0 ] && echo "SUMMARY all passed" || { echo "SUMMARY $fails failed"; exit 1; }

#!/usr/bin/env bash
# Guest side of LocalDeviceStreamsVmTests: qemu's usb-uas disk (SuperSpeed on qemu-xhci, bulk streams) exported by our
# exporter (usbredir connect, LocalUsbDevice over libusb) to qemu's own usb-redir on xHCI, through virtio-serial port
# "uas" (bridged by the host test to the usb-redir chardev). The uas driver must bind the copy (bulk streams: without
# them usb-storage would take it), read the same bytes, write a file that lands in the original's image; the exporter
# must allocate the streams on the real device and free them when the guest's uas lets go; every transfer completes;
# the copy goes away when the export is stopped (SIGTERM, exit 0), and uas binds to the original again. Then a second
# export is stopped while the guest's uas still holds the copy (and its streams): uas must bind to the original again.
# Every step prints its guest uptime (to stdout and to the kernel log, so the console log shows where a hang is), every
# wait is bounded, and disk I/O runs in the background under a deadline (a stuck uas command leaves its reader in D
# state, where no signal reaches it). The exporter's log is printed; on a failure usbmon's tail and dmesg too.
# The original and the usb-redir must sit on two host controllers (see LocalDeviceStreamsVmTests): on one, the copy's
# SET_INTERFACE (sent by the guest holding the controller's bandwidth mutex) and the exporter's SET_INTERFACE on the
# original (which needs that mutex) wait for each other until the copy's times out, and uas never binds the copy
# (usbredirect as the exporter does the same there).
# Prints PASS/FAIL lines (checks.sh) and INFO lines; exits non-zero if anything failed.
#   local-device-streams.sh CLI.dll
set -u
cli=$1
here=$(dirname "$0")
. "$here/checks.sh"
. "$here/local-disks.sh"
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
echo 0 > /sys/module/usb_storage/parameters/delay_use

# step MESSAGE: progress with the guest uptime, on stdout and in the kernel log (the console log keeps it even if the
# run is cut short)
step() { local m="[$(cut -d' ' -f1 /proc/uptime) s] $*"; echo "INFO step $m"; echo "local-device-streams: $m" > /dev/kmsg; }
# every 10 s while the scenario runs, where things stand (a hang then shows where it is): the newest exporter's last log line and
# the processes stuck in the kernel (D state) with the function they wait in
heartbeat() { while sleep 10; do
  step "heartbeat: exporter: $(ls -t /tmp/export*.txt 2>/dev/null | head -n1 | xargs -r tail -n1 | cut -c1-160); D state: $(awk '$3 == "D" { printf "%s(%s) ", $2, $1 }' /proc/[0-9]*/stat 2>/dev/null)"
  for p in $(awk '$3 == "D" { print $1 }' /proc/[0-9]*/stat 2>/dev/null); do
    w=$(tr '\n' ' ' < "/proc/$p/stack" 2>/dev/null | cut -c1-300); [ -n "$w" ] && step "  $p waits in $w"; done
done; }
bridge() { # bridge PORT VPORT: guest loopback PORT to the virtio-serial port
  socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr" "/dev/virtio-ports/$2" & bridges="${bridges:-} $!"
  poll 30 listening "$1"
}
# bounded SECONDS NAME COMMAND...: runs COMMAND in the background (output in /tmp/NAME.out) and waits at most SECONDS
# for it; a command still running then is reported and left behind.
bounded() { local s=$1 name=$2; shift 2; "$@" > "/tmp/$name.out" 2>&1 & local pid=$!
  if ! poll "$s" gone kill -0 "$pid" 2>/dev/null; then step "$name: still running after $s s ($(cat "/proc/$pid/wchan" 2>/dev/null))"; return 124; fi
  wait "$pid"; }
# md5 PATH DISK: the whole disk's md5 as "INFO md5.PATH", read under a deadline
md5() { if bounded 120 "md5-$1" disk_md5 "$2"; then echo "INFO md5.$1 $(cat "/tmp/md5-$1.out")"; else echo "INFO md5.$1 unreadable"; fi; step "md5.$1 read"; }

# usb-uas (46f4:0003) at SuperSpeed; the copy behind usb-redir has the same ids, on another port.
uas_dev() { local v b; for v in /sys/bus/usb/devices/*/idVendor; do b=$(basename "$(dirname "$v")")
  [ "$b" != "${1:-}" ] && [ "$(cat "$v")" = 46f4 ] && [ "$(cat "/sys/bus/usb/devices/$b/idProduct")" = 0003 ] && { echo "$b"; return 0; }; done; return 1; }
driver_of() { basename "$(readlink "/sys/bus/usb/devices/$1:1.0/driver" 2>/dev/null)" 2>/dev/null; }
bound() { [ "$(driver_of "$1")" = "$2" ]; }
disk_of() { disks | awk -v u="$1" '$2 == u { print $1; f = 1; exit } END { exit !f }'; }
# every transfer completed: libusb's device reports the ones that did not, even after their cancellation
all_completed() { ! grep -q "did not complete" "$exporter_log"; }
# nothing went wrong that the exporter noticed (a failed stream allocation or free, a refused transfer, ...)
no_errors() { ! grep -q " error: " "$exporter_log"; }
dump() {
  step "dumping diagnostics (the exporter's log is above)"
  [ -s /tmp/usbmon.txt ] && tail -n 80 /tmp/usbmon.txt | sed 's/^/INFO usbmon: /'
  dmesg | tail -n 80 | sed 's/^/INFO dmesg: /'
}
modprobe usbmon 2>/dev/null && [ -e /sys/kernel/debug/usb/usbmon/0u ] && { cat /sys/kernel/debug/usb/usbmon/0u > /tmp/usbmon.txt & usbmon=$!; }

heartbeat & beat=$!
step "waiting for usb-uas"
poll 60 quiet uas_dev
uas=$(uas_dev)
step "usb-uas is $uas ($(cat /sys/bus/usb/devices/$uas/speed 2>/dev/null) Mb/s), driver $(driver_of "$uas")"
check uas.original-uas-bound poll 60 bound "$uas" uas
check uas.original-superspeed [ "$(cat "/sys/bus/usb/devices/$uas/speed")" = 5000 ]
poll 60 quiet disk_of "$uas"
md5 uas-direct "$(disk_of "$uas")"

copy() { uas_dev "$uas"; }
copy_disk() { local c; c=$(copy) && disk_of "$c"; }
# start_export PHASE PORT VPORT: our exporter to 127.0.0.1:PORT, carried by virtio-serial port VPORT to a usb-redir; the
# copy's disk must appear ($c: the copy's busid, $d: its disk)
start_export() {
  bridge "$2" "$3"
  step "starting the $1 export"
  exporter_log=/tmp/export-$1.txt
  dotnet "$cli" connect "$uas" "127.0.0.1:$2" --no-reconnect --verbose > "$exporter_log" 2>&1 &
  export=$!
  check "$1.copy-disk-appears" poll 120 quiet copy_disk
  c=$(copy) d=$(copy_disk)
  step "the copy is $c ($(cat "/sys/bus/usb/devices/$c/speed" 2>/dev/null) Mb/s, driver $(driver_of "$c")) as ${d:-no disk}"
  check "$1.copy-uas-bound" bound "$c" uas
}
# stop_export PHASE: SIGTERM (as Ctrl+C) ends the export with 0, the copy goes away, uas binds to the original again and
# reads it, and every transfer completed
stop_export() {
  step "stopping the $1 export"
  stop $export; local rc=$?
  step "the $1 export ended with rc=$rc"
  check "$1.export-exit-0" [ "$rc" = 0 ]
  check "$1.copy-gone" poll 60 gone copy
  tail -n 60 "$exporter_log" | sed "s/^/INFO $1 exporter: /"
  check "$1.original-uas-reattached" poll 60 bound "$uas" uas
  poll 60 quiet disk_of "$uas"
  md5 "$1-direct-after" "$(disk_of "$uas")"
  check "$1.every-transfer-completed" all_completed
  check "$1.no-errors-logged" no_errors
}

# 1. The copy is read and written through, then the guest's uas lets go of it before the export stops.
start_export uas 4000 uas
check uas.copy-superspeed [ "$(cat "/sys/bus/usb/devices/$c/speed" 2>/dev/null)" = 5000 ]
check uas.streams-allocated-on-the-device grep -q "allocated [0-9]* bulk streams on endpoints" "$exporter_log"
if [ -n "$d" ]; then
  md5 uas-redir "$d"
  mkdir -p /tmp/m
  write() { mount "/dev/$d" /tmp/m && echo "written through the uas driver, qemu usb-redir and usbredir connect" > /tmp/m/from-uas.txt &&
    md5sum /tmp/m/known.bin && umount /tmp/m; }
  check uas.copy-written bounded 120 write write
  sed 's/^/INFO write: /' /tmp/write.out
  step "the file is written and the copy unmounted"
  md5 uas-redir-after "$d"
fi
# The guest's uas lets go of the copy: it frees its streams, which reach the device through usb-redir and the exporter.
step "unbinding uas from the copy"
[ -n "$c" ] && bound "$c" uas && echo "$c:1.0" > /sys/bus/usb/drivers/uas/unbind
check uas.streams-freed-on-the-device poll 30 grep -q "freed the bulk streams of endpoints" "$exporter_log"
stop_export uas

# 2. Ctrl+C while the guest's uas still holds the copy and its streams (virtio-serial port "busy", a second usb-redir):
# uas binds to the original again, which needs the streams on the device freed by then.
start_export busy 4001 busy
[ -n "$d" ] && md5 busy-redir "$d"
stop_export busy

kill $beat $bridges ${usbmon:-} 2>/dev/null; wait $beat $bridges ${usbmon:-} 2>/dev/null
[ "$fails" -ne 0 ] && dump
dmesg | grep -A30 "blocked for more than" | sed 's/^/INFO dmesg /' | head -120
step "done"
[ "$fails" = 0 ] && echo "SUMMARY all passed" || { echo "SUMMARY $fails failed"; exit 1; }

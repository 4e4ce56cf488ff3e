#!/usr/bin/env bash
# Guest side of UsbHostEdgeVmTests: the same scripted usb-guest (tests/interop/usbredir_guest_peer.c, through Debian's
# libusbredirparser) drives the real usbredirhost (tests/interop/usbredirhost_listen.c: Debian's libusbredirhost, the
# library of usbredirect --as, whose g_error() logging would abort at the first refused request) and our exporter
# (usbredir connect --listen) in turn, each exporting the same QEMU device of this guest: usb-kbd (0627:0001) with usb-host-edges/kbd.steps, then
# usb-storage (46f4:0001) with storage.steps. The transcripts go to $shared/DEVICE.usbredirhost.txt and
# DEVICE.ours.txt; the host test compares them.
# $1 = shared directory, $2 = UsbRedir.Cli.dll, $3 = the built usbredir_guest_peer, $4 = the built usbredirhost_listen.
set -uo pipefail
shared=$1 cli=$2 peer=$3 reference=$4
steps=$(dirname "$0")/usb-host-edges
. "$(dirname "$0")/checks.sh" # poll, listening, stop
busid_of() { grep -lx "${1#*:}" /sys/bus/usb/devices/*/idProduct 2>/dev/null | xargs -r dirname | while read -r d; do [ "$(cat "$d/idVendor")" = "${1%:*}" ] && basename "$d"; done | head -n1; }

status=0
run() { # run DEVICE VID:PID
  local dev=$1 vidpid=$2 busid pid
  poll 60 eval '[ -n "$(busid_of "$vidpid")" ]' || { echo "FAIL $dev: $vidpid did not enumerate"; status=1; return; }
  busid=$(busid_of "$vidpid")
  echo "INFO $dev is $busid ($vidpid)"

  # The oracle gets a second run when a transfer of its first went unanswered: once, in CI on a loaded host, the CSW
  # after a 128 KiB read never came (the next command's data answered it), from the emulated disk or the guest's xHCI
  # path to it, not from the rule under test. The first transcript is kept ($dev.usbredirhost.first.txt) and the host
  # test prints it. Our exporter gets no second run.
  for attempt in 1 2; do
    "$reference" "$vidpid" 47950 > "$shared/$dev.usbredirhost.log" 2>&1 &
    pid=$!
    poll 60 listening 47950 || { echo "FAIL $dev: usbredirhost_listen never listened"; status=1; }
    "$peer" 47950 "$steps/$dev.steps" > "$shared/$dev.usbredirhost.txt" 2> "$shared/$dev.usbredirhost.err"
    echo "INFO $dev peer against usbredirhost rc=$? $(tr '\n' ' ' < "$shared/$dev.usbredirhost.err")"
    stop $pid; echo "INFO usbredirhost_listen ($dev) rc=$?"
    grep -q "not answered within\|barrier timeout" "$shared/$dev.usbredirhost.txt" && [ $attempt = 1 ] || break
    mv "$shared/$dev.usbredirhost.txt" "$shared/$dev.usbredirhost.first.txt"
    echo "INFO $dev: usbredirhost left a transfer unanswered: $(grep "not answered within\|barrier timeout" "$shared/$dev.usbredirhost.first.txt" | tr '\n' ' '); once more"
    sleep 1
  done

  # The kernel driver is back (usbredirhost re-attaches it) before our exporter takes the device.
  sleep 1
  dotnet "$cli" connect "$busid" --listen 127.0.0.1:47951 --verbose > "$shared/$dev.ours.log" 2>&1 &
  pid=$!
  poll 120 listening 47951 || { echo "FAIL $dev: our exporter never listened"; status=1; }
  "$peer" 47951 "$steps/$dev.steps" > "$shared/$dev.ours.txt" 2> "$shared/$dev.ours.err"
  echo "INFO $dev peer against ours rc=$? $(tr '\n' ' ' < "$shared/$dev.ours.err")"
  stop $pid; echo "INFO ours ($dev) rc=$?"
}
run kbd 0627:0001
run storage 46f4:0001
exit $status

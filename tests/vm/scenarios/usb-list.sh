#!/bin/bash
# Guest side of the enumeration proofs (tests/UsbRedir.Tests/Devices/Local/UsbEnumerationVmTests.cs), one boot:
#   usb-list.sh CLI.dll SHARED_DIR DEVICE_COUNT
# Waits until DEVICE_COUNT USB devices (root hubs included) are there with a driver on every interface, then writes
# to SHARED_DIR what the host compares: `usbredir list --json`, the tree, lsusb -t, lsusb -v and the sysfs values
# (sysfs.txt). Then the hot-plug part: `usbredir list --watch` runs; once it watches, watch-ready appears in
# SHARED_DIR and the host adds a keyboard through QMP; once its "added" line is out, plug-seen appears and the host
# removes it; once the "removed" line is out, the watcher is stopped (SIGTERM) and its output copied as watch.out.
set -u
cli=$1 shared=$2 want=$3
. "$(dirname "$0")/checks.sh"

devices() { ls /sys/bus/usb/devices | grep -vc :; }
# Every interface has its driver (usb-storage, usbhid, snd-usb-audio, hub) bound.
settled() {
  [ "$(devices)" -ge "$want" ] || return 1
  local i
  for i in /sys/bus/usb/devices/*:*; do [ -e "$i/driver" ] || return 1; done
}
check devices.settled poll 120 settled
echo "INFO $(devices) devices"

dotnet "$cli" list --json > /tmp/list.json 2> /tmp/list.err; echo "INFO list --json exit $?"
dotnet "$cli" list > /tmp/list.txt 2>&1
dotnet "$cli" -l > /tmp/list-l.txt 2>&1
lsusb -t > /tmp/lsusb-t.txt 2>&1
lsusb -v > /tmp/lsusb-v.txt 2>/dev/null
# name|attribute|value for every device and interface attribute the host compares (bash builtins: no fork per file)
for d in /sys/bus/usb/devices/*; do
  n=${d##*/}
  for a in idVendor idProduct bcdDevice version speed devnum busnum bDeviceClass bDeviceSubClass bDeviceProtocol \
           bConfigurationValue maxchild manufacturer product serial bInterfaceNumber bInterfaceClass bInterfaceSubClass \
           bInterfaceProtocol bAlternateSetting; do
    [ -r "$d/$a" ] && echo "$n|$a|$(<"$d/$a")"
  done
  [ -e "$d/driver" ] && echo "$n|driver|$(basename "$(readlink "$d/driver")")"
done > /tmp/sysfs.txt
cp /tmp/list.json /tmp/list.err /tmp/list.txt /tmp/list-l.txt /tmp/lsusb-t.txt /tmp/lsusb-v.txt /tmp/sysfs.txt "$shared/"

# ---------------------------------------------------------------- hot-plug through QMP
dotnet "$cli" list --watch > /tmp/watch.out 2> /tmp/watch.err &
watcher=$!
check watch.started poll 60 grep -q '^watching for USB devices' /tmp/watch.err
touch "$shared/watch-ready"
check watch.added poll 90 grep -q '^added ' /tmp/watch.out
touch "$shared/plug-seen"
check watch.removed poll 90 grep -q '^removed ' /tmp/watch.out
kill -TERM "$watcher"
wait "$watcher"; echo "INFO watcher exit $?"
cp /tmp/watch.out "$shared/watch.out"; cp /tmp/watch.err "$shared/watch.err"
echo "SUMMARY $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# Guest side of LocalDeviceTransfersVmTests: a high-speed usb-storage on qemu's EHCI forwarded locally by our exporter
# (usbredir plug --backend vhci-ctrl, LocalUsbDevice over libusb) into usbredir_vhci, our USB 2.0 controller: the same
# bytes there, and usb-storage binds to the original again when the forward ends. (local-device.sh has the SuperSpeed
# disk refused by usbredir_vhci and the full-speed keyboard taken.)
# Prints PASS/FAIL lines (checks.sh) and INFO lines; exits non-zero if anything failed.
#   local-device-transfers.sh CLI.dll VHCI.ko
set -u
cli=$1 module=$2
here=$(dirname "$0")
. "$here/checks.sh"
. "$here/local-disks.sh"
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
echo 0 > /sys/module/usb_storage/parameters/delay_use

# the driver of the host controller a root-port device $1 is on (its root hub's parent)
hcd_of() { basename "$(readlink -f "/sys/bus/usb/devices/$1/../../driver")"; }
original() { grep -lx 46f4 /sys/bus/usb/devices/*/idVendor 2>/dev/null | head -n1 | xargs -r dirname | xargs -r basename; }
# disk_of BUSID: the disk behind that USB device
disk_of() { disks | awk -v u="$1" '$2 == u { print $1; f = 1; exit } END { exit !f }'; }
# The forward: a disk behind a device on usbredir_vhci's bus.
on_vhci() { local d u; for d in $(disks | awk '{ print $2 }'); do readlink -f "/sys/bus/usb/devices/$d" | grep -q usbredir_vhci && { disk_of "$d"; return 0; }; done; return 1; }

poll 60 quiet original
orig=$(original)
echo "INFO usb-storage $orig ($(cat /sys/bus/usb/devices/$orig/speed) Mb/s) on $(hcd_of "$orig")"
check hs.high-speed-on-ehci eval '[ "$(cat /sys/bus/usb/devices/$orig/speed)" = 480 ] && [ "$(hcd_of "$orig")" = ehci-pci ]'
check hs.storage-bound poll 120 storage_bound
echo "INFO md5.hs-direct $(disk_md5 "$(orig_disk)")"
insmod "$module" && poll 10 test -c /dev/vhci-ctrl
dotnet "$cli" plug "$orig" --backend vhci-ctrl > /tmp/plug-hs.txt 2>&1 &
plug=$!
check hs.vhci-disk-appears poll 120 quiet on_vhci
d=$(on_vhci) && echo "INFO hs plugged into vhci-ctrl as $d behind $(usb_of "$d") ($(cat "/sys/bus/usb/devices/$(usb_of "$d")/speed") Mb/s)" && echo "INFO md5.hs-vhci-ctrl $(disk_md5 "$d")"
stop $plug; echo "INFO plug hs rc=$? $(tr '\n' ' ' < /tmp/plug-hs.txt)"
check hs.vhci-disk-gone poll 60 gone on_vhci
check hs.storage-reattached poll 60 storage_bound
echo "INFO md5.hs-direct-after $(disk_md5 "$(orig_disk)")"

dmesg | grep -A30 "blocked for more than" | sed 's/^/INFO dmesg /' | head -120
[ "$fails" = 0 ] && echo "SUMMARY all passed" || { echo "SUMMARY $fails failed"; exit 1; }

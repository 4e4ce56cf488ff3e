#!/usr/bin/env bash
# Guest side of LocalDeviceVmTests: our CLI exports qemu's emulated usb-storage (46f4:0001, an ext2 image with
# known.bin) of this guest, read through every path in one boot: directly, exported by us to qemu's own usb-redir
# (virtio-serial port "redir1", bridged by the host test), plugged locally into vhci_hcd (usbip backend) and into
# usbredir_vhci, and exported by usbredirect to a second usb-redir ("redir2"). Each path's whole-disk md5 is printed
# ("INFO md5.PATH ..."), the host compares them. Also: permission denied, a second exporter refused while one holds the
# device, and usb-storage binding to the original again after each export ends. The faults (device_del, re-attach,
# stalls, the peer killed) have their own boot: local-device-faults.sh.
# $1 = shared directory, $2 = UsbRedir.Cli.dll, $3 = md5 of known.bin, $4 = usbredir_vhci.ko (optional).
set -uo pipefail
shared=$1 cli=$2 known=$3 module=${4:-}
. "$(dirname "$0")/checks.sh"
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
echo 0 > /sys/module/usb_storage/parameters/delay_use

. "$(dirname "$0")/local-disks.sh"
bridge() { # bridge PORT VPORT: guest loopback PORT to the virtio-serial port
  socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr" "/dev/virtio-ports/$2" & bridges="${bridges:-} $!"
  poll 30 listening "$1"
}

for _ in $(seq 240); do orig=$(grep -lx 46f4 /sys/bus/usb/devices/*/idVendor 2>/dev/null | head -n1 | xargs -r dirname | xargs -r basename); [ -n "$orig" ] && storage_bound && break; sleep 0.25; done
check original.bound storage_bound
echo "INFO original $orig $(orig_disk)"
echo "INFO md5.direct $(disk_md5 "$(orig_disk)")"

# Permission denied: an unprivileged user cannot open the device node, and the error names it and the fix.
HOME=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups dotnet "$cli" connect "$orig" 127.0.0.1:4000 > /tmp/nobody.txt 2>&1
echo "INFO nobody rc=$? $(tr '\n' ' ' < /tmp/nobody.txt)"
check errors.permission-denied grep -q "UsbDeviceAccessDenied.*/dev/bus/usb/" /tmp/nobody.txt

# Export to qemu's own usb-redir: the guest sees the disk again behind it, reads known.bin, writes a file.
bridge 4000 redir1
dotnet "$cli" connect "$orig" 127.0.0.1:4000 --no-reconnect --verbose > /tmp/export.txt 2>&1 &
export=$!
check export.disk-appears poll 120 other_disk
disk=$(other_disk)
echo "INFO exported $orig appears as $disk behind $(usb_of "$disk")"
echo "INFO md5.usb-redir $(disk_md5 "$disk")"
mkdir -p /tmp/m
mount "/dev/$disk" /tmp/m
check export.known [ "$(md5sum < /tmp/m/known.bin | cut -d' ' -f1)" = "$known" ]
echo "written through usbredir connect and qemu usb-redir" > /tmp/m/from-guest.txt
sync; umount /tmp/m

# A second exporter is refused while the first holds the device.
dotnet "$cli" connect "$orig" 127.0.0.1:4001 > /tmp/second.txt 2>&1
echo "INFO second exporter rc=$? $(tr '\n' ' ' < /tmp/second.txt)"
check errors.second-exporter-in-use grep -q "UsbDeviceInUse" /tmp/second.txt

stop $export; echo "INFO export rc=$? $(tr '\n' ' ' < /tmp/export.txt)"
check export.disk-gone poll 60 no_other_disk
check export.storage-reattached poll 60 storage_bound
echo "INFO md5.direct-after $(disk_md5 "$(orig_disk)")"

# Local forward into each backend: the same bytes, and usb-storage binds to the original again afterwards.
forward() { # forward BACKEND
  dotnet "$cli" plug "$orig" --backend "$1" > "/tmp/plug-$1.txt" 2>&1 &
  local plug=$!
  check "plug.$1.disk-appears" poll 120 other_disk
  local d; d=$(other_disk) && echo "INFO plugged into $1 as $d behind $(usb_of "$d")" && echo "INFO md5.$1 $(disk_md5 "$d")"
  stop $plug; echo "INFO plug $1 rc=$? $(tr '\n' ' ' < "/tmp/plug-$1.txt")"
  check "plug.$1.disk-gone" poll 60 no_other_disk
  check "plug.$1.storage-reattached" poll 60 storage_bound
}
forward usbip
# usbredir_vhci is a USB 2.0 controller: it refuses the SuperSpeed disk with a clear error (and the disk's driver comes
# back), and takes the full-speed keyboard, which usbhid binds to behind it.
kbd=$(grep -lx 0627 /sys/bus/usb/devices/*/idVendor | head -n1 | xargs dirname | xargs basename)
hid_on_orig() { [ "$(basename "$(readlink "/sys/bus/usb/devices/$kbd:1.0/driver" 2>/dev/null)")" = usbhid ]; }
hid_elsewhere() { local v b; for v in /sys/bus/usb/devices/*/idVendor; do b=$(basename "$(dirname "$v")"); [ "$b" != "$kbd" ] && [ "$(cat "$v")" = 0627 ] && [ "$(basename "$(readlink "/sys/bus/usb/devices/$b:1.0/driver" 2>/dev/null)")" = usbhid ] && { echo "$b"; return 0; }; done; return 1; }
if [ -n "$module" ]; then
  insmod "$module" && poll 10 test -c /dev/vhci-ctrl
  timeout 120 dotnet "$cli" plug "$orig" --backend vhci-ctrl > /tmp/plug-ss.txt 2>&1
  echo "INFO plug vhci-ctrl SuperSpeed disk rc=$? $(tr '\n' ' ' < /tmp/plug-ss.txt)"
  check plug.vhci-ctrl.superspeed-refused grep -q "DeviceSpeedUnsupported" /tmp/plug-ss.txt
  check plug.vhci-ctrl.storage-reattached poll 60 storage_bound
  dotnet "$cli" plug "$kbd" --backend vhci-ctrl > /tmp/plug-kbd.txt 2>&1 &
  plug=$!
  check plug.vhci-ctrl.keyboard-usbhid-bound poll 120 hid_elsewhere
  echo "INFO keyboard $kbd plugged into vhci-ctrl as $(hid_elsewhere)"
  stop $plug; echo "INFO plug vhci-ctrl keyboard rc=$? $(tr '\n' ' ' < /tmp/plug-kbd.txt)"
  check plug.vhci-ctrl.keyboard-gone poll 60 eval '! hid_elsewhere'
  check plug.vhci-ctrl.usbhid-reattached poll 60 hid_on_orig
fi

# The reference: usbredirect exports the same device to the second usb-redir.
bridge 4001 redir2
usbredirect --device 46f4:0001 --to 127.0.0.1:4001 > /tmp/usbredirect.txt 2>&1 &
ref=$!
check usbredirect.disk-appears poll 120 other_disk
d=$(other_disk) && echo "INFO md5.usbredirect $(disk_md5 "$d")"
stop $ref
# usbredirect says nothing to usb-redir when it ends, and the host's bridge keeps qemu's end open: the host removes that
# usb-redir device (QMP device_del), or its dead disk would stay in the guest with I/O that never completes.
touch "$shared/usbredirect-done"
check usbredirect.disk-gone poll 60 no_other_disk

# Keyboard (interrupt IN): our CLI exports qemu's usb-kbd to the third usb-redir; the host types through QMP send-key
# into the original, the keys arrive on the redirected keyboard's input device.
bridge 4002 redir3
dotnet "$cli" connect "$kbd" 127.0.0.1:4002 --no-reconnect > /tmp/kbd.txt 2>&1 &
kbdexport=$!
poll 60 eval '! hid_on_orig'
python3 "$(dirname "$0")/read-keys.py" "QEMU USB Keyboard" "$shared/keyboard-listening" 120 > /tmp/keys.txt 2>&1
echo "INFO keyboard $(cat /tmp/keys.txt)"
check keyboard.keys-arrive grep -qx "keys: 22 31 48 28" /tmp/keys.txt
stop $kbdexport; echo "INFO keyboard export rc=$? $(tr '\n' ' ' < /tmp/kbd.txt)"
check keyboard.usbhid-reattached poll 60 hid_on_orig

kill $bridges 2>/dev/null; wait 2>/dev/null
dmesg > "$shared/dmesg.txt"
grep -A30 "blocked for more than" "$shared/dmesg.txt" | sed 's/^/INFO dmesg /' | head -120
[ "$fails" = 0 ] && echo "SUMMARY all passed" || { echo "SUMMARY $fails failed"; exit 1; }

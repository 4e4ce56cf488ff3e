#!/usr/bin/env bash
# Guest side of the usbip-backend VM test: drives UsbRedir.VmPlug (the controller on the stock vhci_hcd) through one
# boot: privilege errors, module loading, disk read/write/replug, sequential read throughput, keyboard, unplug during
# I/O, killing the user-space side mid-transfer, and removing vhci_hcd with a disk attached and under I/O. Prints "step: ..." lines the host test asserts on; any failure exits non-zero.
# $1 = shared directory, $2 = UsbRedir.VmPlug.dll, $3 = disk image (ext2 with known.bin),
# $4 = usbredir_vhci.ko for the vhci-ctrl throughput comparison (optional). qemu's own usb-storage on xHCI over a copy of
# the image (vendor 46f4), if the guest has one, is the throughput baseline.
set -euo pipefail
shared=$1 vmplug=$2 image=$3 module=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
# Report a task stuck in D state after 10 s instead of 120 s (run-vm fails the run on "hung task" in the log).
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
# usb-storage waits 1 s before scanning a new disk; the test plugs seven times.
echo 0 > /sys/module/usb_storage/parameters/delay_use

start_vmplug() {
  coproc VMPLUG { exec dotnet "$vmplug" usbip 2>>"$shared/vmplug.log"; }
  vmplug_pid=$VMPLUG_PID
  read_reply "start"
}
read_reply() {
  if ! read -r -t 90 REPLY_LINE <&"${VMPLUG[0]}"; then echo "vmplug gave no answer to '$1'" >&2; exit 1; fi
  echo "vmplug: $1 -> $REPLY_LINE"
  [[ $REPLY_LINE == ok* ]] || exit 1
}
say() { echo "$*" >&"${VMPLUG[1]}"; read_reply "$*"; }

# The block device of the USB device with this idVendor (our disks are 1209), if it has one yet.
disk_of() {
  local v
  for v in /sys/bus/usb/devices/*/idVendor; do
    [ "$(cat "$v")" = "$1" ] || continue
    ls "${v%/idVendor}"/*:*/host*/target*/*/block 2>/dev/null | head -n1 && return 0
  done
  return 1
}
wait_disk() {
  local d
  for _ in $(seq 480); do
    if d=$(disk_of 1209) && [ -b "/dev/$d" ] && [ "$(cat "/sys/block/$d/size")" != 0 ]; then DISK=/dev/$d; return 0; fi
    sleep 0.25
  done
  echo "the disk never appeared" >&2; exit 1
}
wait_no_disk() {
  for _ in $(seq 240); do disk_of 1209 >/dev/null || return 0; sleep 0.25; done
  echo "the disk never went away" >&2; exit 1
}
# Waits up to 30 s for a background reader; a reader stuck in the kernel fails the test (and trips the hung-task check).
wait_reader() {
  for _ in $(seq 120); do kill -0 "$1" 2>/dev/null || { wait "$1" && READER_RC=0 || READER_RC=$?; return 0; }; sleep 0.25; done
  echo "reader $1 is stuck: $(cat /proc/$1/wchan 2>/dev/null)" >&2; exit 1
}
# Sectors the disk has read so far (/sys/block/sdX/stat, third field).
sectors_read() { awk '{ print $3 }' "/sys/block/${DISK#/dev/}/stat"; }
# Plugs the disk and starts reading all of it in the background (sets reader); returns once the read is under way:
# once the disk has served its first 64 KiB, not after a fixed second, in which a fast host could read it all.
plug_and_read() {
  say plug disk "$image"
  wait_disk
  local before; before=$(sectors_read)
  dd if="$DISK" of=/dev/null bs=64k iflag=direct 2>/dev/null &
  reader=$!
  for _ in $(seq 600); do [ "$(sectors_read)" -ge $((before + 128)) ] && break; kill -0 $reader 2>/dev/null || break; sleep 0.05; done
  kill -0 $reader 2>/dev/null || { echo "the read finished before the fault" >&2; exit 1; }
}
vhci_ports_in_use() { awk '$1 == "hs" || $1 == "ss" { if ($3 != "004") n++ } END { print n + 0 }' /sys/devices/platform/vhci_hcd.0/status*; }

# Runs VmPlug once as an unprivileged user with the given commands; prints its answers.
as_nobody() { printf '%s\n' "$@" | HOME=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups dotnet "$vmplug" usbip 2>>"$shared/vmplug.log" || true; }

# 0. Without root the backend may not load the module, and says how to.
! lsmod | grep -q '^vhci_hcd' || { echo "vhci_hcd was already loaded" >&2; exit 1; }
echo "step: unprivileged, no module: $(as_nobody quit | head -n1)"

# 1. The backend loads vhci-hcd itself (run-vm does not).
start_vmplug
lsmod | grep -q '^vhci_hcd' && echo "step: module loaded by the backend"

# 1b. Without root the attach file refuses the write, and the error says so.
echo "step: unprivileged plug: $(as_nobody "plug keyboard" quit | sed -n 2p)"

# 2. Disk: enumerate, mount, read a known file, write a new one, unplug, replug, read it back.
say plug disk "$image"
wait_disk
mkdir -p /tmp/stick
mount "$DISK" /tmp/stick
echo "step: known $(md5sum < /tmp/stick/known.bin | cut -d' ' -f1)"
echo "written by the guest through vhci_hcd" > /tmp/stick/from-guest.txt
sync; umount /tmp/stick
say unplug disk
wait_no_disk
echo "step: disk gone after unplug (vhci ports in use: $(vhci_ports_in_use))"
say plug disk "$image"
wait_disk
mount -o ro "$DISK" /tmp/stick
echo "step: after replug $(cat /tmp/stick/from-guest.txt)"
umount /tmp/stick

# 3. Sequential read throughput (16 MiB, bypassing the page cache) of a copy of the image in guest RAM (read over 9p,
#    the share would be the bottleneck): usbip, and qemu's xHCI as the baseline (vhci-ctrl follows in step 7, in a
#    process that ends in order).
throughput() { dd if="$2" of=/dev/null bs=1M count=16 iflag=direct 2> /tmp/dd.txt; echo "step: throughput $1 $(tail -n1 /tmp/dd.txt)"; }
say unplug disk
wait_no_disk
cp "$image" /tmp/ram.img
say plug disk /tmp/ram.img
wait_disk
throughput usbip "$DISK"
say unplug disk
wait_no_disk
if baseline=$(disk_of 46f4); then throughput qemu-xhci "/dev/$baseline"; fi

# 4. Keyboard: an input device appears and the scripted keys arrive; unplug removes it.
say plug keyboard
rm -f "$shared/keyboard-listening"
python3 "$here/read-keys.py" UsbRedir "$shared/keyboard-listening" 90 > /tmp/keys.txt &
keys=$!
for _ in $(seq 360); do [ -e "$shared/keyboard-listening" ] && break; sleep 0.25; done
say type "usbredir 42{ENTER}"
wait_reader $keys
echo "step: $(cat /tmp/keys.txt)"
say unplug keyboard
for _ in $(seq 120); do grep -qs UsbRedir /sys/class/input/input*/name || break; sleep 0.25; done
grep -qs UsbRedir /sys/class/input/input*/name && { echo "the keyboard's input device stayed" >&2; exit 1; }
echo "step: keyboard input device gone"

# 5. Unplug during I/O: the reader ends with an error, nothing hangs.
plug_and_read
say unplug disk
wait_reader $reader
wait_no_disk
echo "step: unplug during I/O: reader exit $READER_RC, vhci ports in use $(vhci_ports_in_use)"

# 6. Kill the user-space side mid-transfer: vhci_hcd sees the socket close and tears the port down.
plug_and_read
kill -KILL "$VMPLUG_PID"
wait "$VMPLUG_PID" 2>/dev/null || true
wait_reader $reader
wait_no_disk
for _ in $(seq 240); do [ "$(vhci_ports_in_use)" = 0 ] && break; sleep 0.25; done
echo "step: killed mid-transfer: reader exit $READER_RC, vhci ports in use $(vhci_ports_in_use)"

# 7. A new process can use the controller again (and measures the vhci-ctrl backend); quitting unplugs what it holds.
start_vmplug
if [ -n "$module" ]; then
  insmod "$module"
  for _ in $(seq 40); do [ -c /dev/vhci-ctrl ] && break; sleep 0.25; done
  say backend vhci-ctrl
  say plug disk /tmp/ram.img
  wait_disk
  throughput vhci-ctrl "$DISK"
  say unplug disk
  wait_no_disk
  say backend usbip
fi
say plug disk "$image"
wait_disk
mount -o ro "$DISK" /tmp/stick
echo "step: again $(md5sum < /tmp/stick/known.bin | cut -d' ' -f1)"
umount /tmp/stick
say quit
wait "$vmplug_pid" 2>/dev/null || true
wait_no_disk
echo "step: quit unplugged everything (vhci ports in use: $(vhci_ports_in_use))"

# 8. Remove vhci_hcd with the disk attached and a read running. Whatever the kernel does (refuse, or tear the port
#    down and close its socket), our side must see it: the slot turns Free, the reader ends, and quit still ends the
#    process (no thread stuck on a dead link).
start_vmplug
plug_and_read
if rmmod vhci_hcd 2>/tmp/rmmod.err; then rmmod_result=removed; else rmmod_result="refused ($(tr '\n' ' ' </tmp/rmmod.err))"; fi
echo "step: rmmod vhci_hcd with a device attached: $rmmod_result"
wait_reader $reader
wait_no_disk
ports_line=
for _ in $(seq 40); do
  echo ports >&"${VMPLUG[1]}"
  read -r -t 30 ports_line <&"${VMPLUG[0]}" || break
  [[ $ports_line == "ok 1:Free 2:Free" ]] && break
  sleep 0.25
done
echo "step: after rmmod: reader exit $READER_RC, vmplug ports '$ports_line', module loaded $(lsmod | grep -c '^vhci_hcd ' || true)"
say unplug disk
echo quit >&"${VMPLUG[1]}"
quit_line=
read -r -t 30 quit_line <&"${VMPLUG[0]}" || true
for _ in $(seq 120); do kill -0 "$vmplug_pid" 2>/dev/null || break; sleep 0.25; done
if kill -0 "$vmplug_pid" 2>/dev/null; then echo "vmplug did not exit after quit" >&2; exit 1; fi
wait "$vmplug_pid" && vmplug_rc=0 || vmplug_rc=$?
echo "step: after rmmod quit: '$quit_line', vmplug exit $vmplug_rc"

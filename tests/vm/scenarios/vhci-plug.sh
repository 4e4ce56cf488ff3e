#!/bin/bash
# Guest side of the vhci-ctrl backend proofs (tests/UsbRedir.Tests/Vm/VhciCtrlBackendVmTests.cs), one boot:
#   vhci-plug.sh MODULE.ko CLI.dll SHARED_DIR KNOWN_SHA256 READ_MIB
# SHARED_DIR holds stick.img (an ext2 image with known.bin). The guest also has qemu's own usb-storage on
# xHCI over a copy of the image (vendor 46f4), the baseline of the throughput figures.
# Prints PASS/FAIL/INFO lines like kernel/tests/run-in-guest.sh and exits non-zero if anything failed.
set -u
ko=$1 cli=$2 shared=$3 known_sha=$4 read_mib=$5
# The device reads its image from guest RAM (the overlay's tmpfs), not through 9p, so the figures measure the
# controller path; it goes back to SHARED_DIR at the end for the host to inspect.
img=/root/stick.img
cp "$shared/stick.img" "$img"
here=$(cd "$(dirname "$0")" && pwd)
fails=0
pass() { echo "PASS $1"; echo "INFO at $(cut -d' ' -f1 /proc/uptime) s: $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
ms() { date +%s%3N; }
# wait_until SECONDS COMMAND...: polls every 0.1 s
wait_until() { local end=$(( $(ms) + $1 * 1000 )); shift; until "$@"; do [ "$(ms)" -lt "$end" ] || return 1; sleep 0.1; done; }

# The block device (sdX) behind a USB device with this idVendor, if any.
disk_of() {
  local b d
  for b in /sys/block/sd*; do
    [ -e "$b" ] || continue
    d=$(readlink -f "$b/device")
    while [ "$d" != / ]; do
      [ -f "$d/idVendor" ] && { [ "$(cat "$d/idVendor")" = "$1" ] && { basename "$b"; return 0; }; break; }
      d=$(dirname "$d")
    done
  done
  return 1
}
# The sysfs directory of the USB device with this idVendor, if any.
usb_device_of() {
  local d
  for d in /sys/bus/usb/devices/*; do
    [ -f "$d/idVendor" ] && [ "$(cat "$d/idVendor")" = "$1" ] && { readlink -f "$d"; return 0; }
  done
  return 1
}
# The driver bound to interface 0 of the USB device with this idVendor.
interface_driver_of() {
  local d; d=$(usb_device_of "$1") || return 1
  basename "$(readlink -f "$d/$(basename "$d"):1.0/driver")"
}
has_disk() { disk_of 1209 >/dev/null; }
no_disk() { ! has_disk; }
no_controller() { ! ls -d /sys/devices/platform/usbredir_vhci.* >/dev/null 2>&1; }

# start_plug NAME ARGS...: `usbredir plug` in the background (standard input from $plug_input, default none); sets
# plug_pid. Waits for its "plugged:" line.
start_plug() {
  local name=$1; shift
  dotnet "$cli" plug --backend vhci-ctrl "$@" <"${plug_input:-/dev/null}" >"/tmp/$name.out" 2>&1 &
  plug_pid=$!
  if wait_until 60 grep -q '^plugged:' "/tmp/$name.out"; then return 0; fi
  sed "s/^/  $name: /" "/tmp/$name.out"
  return 1
}
# stop_plug NAME SIGNAL: signals the plug process and waits (up to 20 s) for it; returns its exit status.
stop_plug() {
  kill -"$2" "$plug_pid" 2>/dev/null
  local i
  for i in $(seq 200); do kill -0 "$plug_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$plug_pid" 2>/dev/null; then echo "  $1: still running 20 s after SIG$2"; kill -9 "$plug_pid"; fi
  wait "$plug_pid"
}

t=$(ms)
insmod "$ko" || { fail module.insmod "insmod $ko"; echo "SUMMARY failed"; exit 1; }
wait_until 5 test -c /dev/vhci-ctrl || fail module.devnode "/dev/vhci-ctrl missing"

# ---------------------------------------------------------------- no privileges: a clear error, exit code 3
setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp dotnet "$cli" plug --keyboard --backend vhci-ctrl \
  >/tmp/unpriv.out 2>&1; rc=$?
if [ "$rc" -eq 3 ] && grep -q 'error \[ControllerAccessDenied\]' /tmp/unpriv.out; then pass errors.no-privileges; else
  fail errors.no-privileges "exit $rc: $(tr '\n' '|' </tmp/unpriv.out)"; fi

# ---------------------------------------------------------------- disk: enumerate, mount, checksum, write
mkdir -p /mnt/stick
if start_plug disk --disk "$img"; then pass disk.plugged; else fail disk.plugged "no 'plugged:' line"; fi
echo "INFO disk.plug-command $(( $(ms) - t )) ms"
t=$(ms)
if wait_until 60 has_disk; then
  pass disk.enumerated
  echo "INFO disk.enumeration $(( $(ms) - t )) ms"
else
  fail disk.enumerated "no sd device with idVendor 1209 after 60 s"
  sed 's/^/  disk: /' /tmp/disk.out
fi
dev=/dev/$(disk_of 1209)
# Our device's own interface (qemu's baseline disk has usb-storage bound too).
drv=$(interface_driver_of 1209)
[ "$drv" = usb-storage ] && pass disk.usb-storage-bound ||
  fail disk.usb-storage-bound "interface 1.0 of our device (idVendor 1209) has driver '${drv:-none}'"
if mount "$dev" /mnt/stick; then pass disk.mounted; else fail disk.mounted "mount $dev failed"; fi
sum=$(sha256sum /mnt/stick/known.bin 2>/dev/null | cut -d' ' -f1)
[ "$sum" = "$known_sha" ] && pass disk.checksum || fail disk.checksum "known.bin sha256 $sum, expected $known_sha"
echo "written by the guest through vhci-ctrl" >/mnt/stick/from-guest.txt && sync && umount /mnt/stick &&
  pass disk.write || fail disk.write "writing from-guest.txt failed"

# Throughput: sequential direct reads of the whole device, ours and qemu's usb-storage (the baseline).
for who in 1209:vhci-ctrl 46f4:qemu-usb-storage; do
  d=$(disk_of "${who%%:*}") || { fail "throughput.${who#*:}" "no disk"; continue; }
  out=$(dd if="/dev/$d" of=/dev/null bs=1M count="$read_mib" iflag=direct 2>&1 | tail -n1)
  echo "INFO throughput.${who#*:} $out"
  echo "$out" | grep -q "^$((read_mib * 1048576)) bytes" && pass "throughput.${who#*:}" || fail "throughput.${who#*:}" "$out"
done

# ---------------------------------------------------------------- faults, replug
# reading_during DD_OUT: starts a whole-disk read of our disk in the background (dd_pid) and returns once the disk has
# served its first 64 KiB with dd still running, so the fault really hits I/O in flight (a fixed second instead could
# see a fast host read the whole disk, or a slow one not start).
reading_during() {
  local d; d=$(disk_of 1209) || { echo "  no disk to read"; return 1; }
  # (bash scoping: the helpers see this function's d and before)
  sectors_read() { awk '{ print $3 }' "/sys/block/$d/stat"; }
  read_started() { [ "$(sectors_read)" -ge $((before + 128)) ] || ! kill -0 "$dd_pid" 2>/dev/null; }
  local before; before=$(sectors_read)
  dd_pid=
  dd if="/dev/$d" of=/dev/null bs=64k iflag=direct >"$1" 2>&1 &
  dd_pid=$!
  wait_until 30 read_started
  kill -0 "$dd_pid" 2>/dev/null || { echo "  dd ended before the fault: $(tail -n1 "$1")"; return 1; }
}
# read_ends FAULT: the interrupted read ends with an error (dd's exit status non-zero) within 20 s, the disk and the
# controller go away (30 s each). Only called after reading_during succeeded (dd_pid set).
read_ends() {
  [ -n "$dd_pid" ] || { echo "  no reader"; return 1; }
  wait_until 20 bash -c "! kill -0 $dd_pid 2>/dev/null" || { echo "  dd still blocked 20 s after the fault"; kill -9 "$dd_pid"; return 1; }
  local st=0; wait "$dd_pid" 2>/dev/null || st=$?
  echo "INFO $1 dd exit $st: $(tail -n1 "/tmp/$1.dd")"
  [ "$st" -ne 0 ] || { echo "  dd read the whole disk without an error: the fault did not interrupt it"; return 1; }
  wait_until 30 no_disk || { echo "  the disk is still there"; return 1; }
  wait_until 30 no_controller || { echo "  the controller is still there"; return 1; }
}

# Unplug (SIGTERM: the CLI unplugs and removes its controller) while a read is in flight.
if reading_during /tmp/fault.unplug-during-io.dd; then
  stop_plug disk TERM; rc=$?
  if read_ends fault.unplug-during-io; then pass fault.unplug-during-io; else fail fault.unplug-during-io "see above"; fi
else
  fail fault.unplug-during-io "no I/O in flight"
  stop_plug disk TERM; rc=$?
fi
if [ "$rc" -eq 0 ] && grep -q '^unplugged:' /tmp/disk.out; then pass disk.unplug-clean; else
  fail disk.unplug-clean "plug exit $rc"; sed 's/^/  disk: /' /tmp/disk.out; fi

# Replug: the file written before is there.
start_plug disk2 --disk "$img" && wait_until 60 has_disk && mount "/dev/$(disk_of 1209)" /mnt/stick
got=$(cat /mnt/stick/from-guest.txt 2>/dev/null)
[ "$got" = "written by the guest through vhci-ctrl" ] && pass disk.replug-file-survives ||
  fail disk.replug-file-survives "from-guest.txt after replug: '$got'"
umount /mnt/stick 2>/dev/null

# SIGKILL of the user-space side mid-transfer: the kernel gives every URB back on its own.
if reading_during /tmp/fault.kill-mid-transfer.dd; then
  kill -9 "$plug_pid"; wait "$plug_pid" 2>/dev/null
  if read_ends fault.kill-mid-transfer; then pass fault.kill-mid-transfer; else fail fault.kill-mid-transfer "see above"; fi
else
  fail fault.kill-mid-transfer "no I/O in flight"
  kill -9 "$plug_pid"; wait "$plug_pid" 2>/dev/null
fi

# ---------------------------------------------------------------- keyboard: scripted keys arrive
# The keys are a line of the CLI's standard input (--keys -), written once the reader listens (its ready marker): keys
# typed before it has the input device open would be lost, whatever fixed delay was guessed.
python3 "$here/read-keys.py" "UsbRedir" /tmp/keys-ready 90 >/tmp/keys.out 2>&1 &
keys_pid=$!
mkfifo /tmp/keys.fifo && exec 7<>/tmp/keys.fifo   # held open read-write: opening it for the CLI never blocks
if plug_input=/tmp/keys.fifo start_plug keyboard --keyboard --keys - --keys-delay 0; then pass keyboard.plugged; else fail keyboard.plugged "no 'plugged:' line"; fi
if wait_until 90 test -e /tmp/keys-ready; then echo "vhci 7{ENTER}" >&7; else echo "  the key reader never listened: $(cat /tmp/keys.out)"; fi
wait_until 60 bash -c "! kill -0 $keys_pid 2>/dev/null"
wait "$keys_pid"
# v h c i space 7 enter, as evdev key codes
grep -q '^keys: 47 35 46 23 57 8 28$' /tmp/keys.out && pass keyboard.keys-arrive ||
  fail keyboard.keys-arrive "$(cat /tmp/keys.out)"
ls /sys/class/input/*/device/name >/dev/null 2>&1 && grep -ql UsbRedir /sys/class/input/*/device/name && pass keyboard.input-device ||
  fail keyboard.input-device "no input device named UsbRedir"

# ---------------------------------------------------------------- rmmod with a device attached
if rmmod usbredir_vhci 2>/tmp/rmmod.err; then
  fail fault.rmmod-refused-with-device "rmmod succeeded while a keyboard was plugged in"
else
  pass fault.rmmod-refused-with-device
fi
grep -ql UsbRedir /sys/class/input/*/device/name 2>/dev/null && pass fault.device-survives-rmmod ||
  fail fault.device-survives-rmmod "the keyboard disappeared"
stop_plug keyboard TERM; rc=$?
no_keyboard() { ! grep -qs UsbRedir /sys/class/input/*/device/name; }
if [ "$rc" -eq 0 ] && wait_until 30 no_keyboard && wait_until 30 no_controller; then pass keyboard.unplug-clean; else
  fail keyboard.unplug-clean "exit $rc"; sed 's/^/  keyboard: /' /tmp/keyboard.out; fi
if wait_until 10 rmmod usbredir_vhci; then pass module.rmmod-after-unplug; else fail module.rmmod-after-unplug "$(cat /tmp/rmmod.err)"; fi

cp "$img" "$shared/stick.img" || fail image.copy-back "cannot copy the image back to $shared"

if [ "$fails" -eq 0 ]; then echo "SUMMARY all passed"; else echo "SUMMARY $fails failed"; fi
[ "$fails" -eq 0 ]

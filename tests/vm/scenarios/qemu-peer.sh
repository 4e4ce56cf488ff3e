#!/usr/bin/env bash
# Guest side of the QEMU-peer test: the host pushes a virtual disk and a keyboard to this guest's usb-redir
# ports. Reads a known file from the disk, writes a new one, then reports the keys the keyboard types.
# $1 = shared directory (ready files and results go there).
set -euo pipefail
shared=$1
for _ in $(seq 240); do [ -b /dev/sda ] && break; sleep 0.5; done
[ -b /dev/sda ] || { echo "no /dev/sda: the disk did not enumerate" >&2; exit 1; }
mkdir -p /tmp/stick
mount /dev/sda /tmp/stick
md5sum /tmp/stick/known.bin
echo "written by the guest through usb-redir" > /tmp/stick/from-guest.txt
sync
umount /tmp/stick
python3 "$(dirname "$0")/read-keys.py" "UsbRedir" "$shared/keyboard-listening" 120

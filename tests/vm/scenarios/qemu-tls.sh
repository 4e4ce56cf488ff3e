#!/usr/bin/env bash
# Guest side of the QEMU TLS test: two usb-redir ports carry TLS (one with QEMU as the TLS server, one with QEMU as
# the TLS client towards a listening UsbRedir exporter); each brings a virtual disk. For each disk: read a known file
# (prints "disk: MD5"), write one back.
set -euo pipefail

usbredir_disks() {
  local d
  for d in /sys/block/sd*; do
    [ -e "$d/device/vendor" ] && grep -q UsbRedir "$d/device/vendor" && [ -b "/dev/${d##*/}" ] && echo "${d##*/}"
  done
  return 0
}

disks=
for _ in $(seq 900); do
  disks=$(usbredir_disks)
  [ "$(echo "$disks" | grep -c sd)" = 2 ] && break
  sleep 0.2
done
[ "$(echo "$disks" | grep -c sd)" = 2 ] || { echo "two disks expected, found: $disks" >&2; exit 1; }
for dev in $disks; do
  mkdir -p "/tmp/$dev"
  for _ in $(seq 50); do mount "/dev/$dev" "/tmp/$dev" 2>/dev/null && break; sleep 0.2; done
  mountpoint -q "/tmp/$dev" || { echo "cannot mount /dev/$dev" >&2; exit 1; }
  echo "disk: $(md5sum "/tmp/$dev/known.bin" | cut -d' ' -f1)"
  echo "written by the guest over TLS" > "/tmp/$dev/from-guest.txt"
  sync
  umount "/tmp/$dev"
done

#!/usr/bin/env bash
# Guest side of the listening-exporter test: this guest's usb-redir connects out (client chardev, reconnect=1) to the
# host, where UsbRedir listens with a virtual disk. The disk is seen three times: at first, after the host drops the
# link (usb-redir reconnects), and after the host unplugs the disk and plugs it in again (UsbRedir re-exports it).
# Each time the guest reads a known file; the first time it also writes one. After each round it touches
# $shared/round-N for the host and waits until the disk goes away (except after the last).
# $1 = shared directory.
set -euo pipefail
shared=$1
rounds=3

# The sd block device of a disk whose vendor is UsbRedir, or nothing.
usbredir_disk() {
  local d
  for d in /sys/block/sd*; do
    [ -e "$d/device/vendor" ] && grep -q UsbRedir "$d/device/vendor" && [ -b "/dev/${d##*/}" ] && { echo "${d##*/}"; return; }
  done
  return 0
}

for round in $(seq $rounds); do
  dev=
  for _ in $(seq 600); do dev=$(usbredir_disk); [ -n "$dev" ] && break; sleep 0.2; done
  [ -n "$dev" ] || { echo "round $round: the disk did not appear" >&2; exit 1; }
  # The partition table scan may still be running: mount retries briefly.
  mkdir -p /tmp/stick
  for _ in $(seq 50); do mount "/dev/$dev" /tmp/stick 2>/dev/null && break; sleep 0.2; done
  mountpoint -q /tmp/stick || { echo "round $round: cannot mount /dev/$dev" >&2; exit 1; }
  echo "round $round: $(md5sum /tmp/stick/known.bin | cut -d' ' -f1)"
  if [ "$round" = 1 ]; then
    echo "written by the guest through a listening exporter" > /tmp/stick/from-guest.txt
    sync
  fi
  umount /tmp/stick
  touch "$shared/round-$round"
  [ "$round" = "$rounds" ] && break
  for _ in $(seq 600); do [ -e "/sys/block/$dev" ] || break; sleep 0.2; done
  [ -e "/sys/block/$dev" ] && { echo "round $round: /dev/$dev never went away" >&2; exit 1; }
  echo "round $round: /dev/$dev went away"
done

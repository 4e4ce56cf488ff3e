# Sourced by the guest scenarios around qemu's usb-storage (local-device.sh, local-device-faults.sh): the disks and the
# USB devices they are behind. $orig is the busid of the original usb-storage, set by the scenario.
# The busid of the USB device behind block device $1 (sda), from its sysfs path (.../2-1/2-1:1.0/host0/...).
usb_of() { readlink -f "/sys/block/$1" | grep -o '/[0-9]*-[0-9.]*:' | tail -n1 | tr -d '/:'; }
# "sdX BUSID" for every disk that has a size, and the USB device it is behind.
disks() { local b d u n; for b in /sys/block/sd*; do d=${b##*/}; u=$(usb_of "$d"); n=$(cat "$b/size" 2>/dev/null) || continue; [ -n "$u" ] && [ "${n:-0}" -gt 0 ] && echo "$d $u"; done; }
# The disk behind a USB device other than the original (an export or forward of it) / behind the original.
other_disk() { disks | awk -v o="$orig" '$2 != o { print $1; f = 1; exit } END { exit !f }'; }
orig_disk() { disks | awk -v o="$orig" '$2 == o { print $1; f = 1; exit } END { exit !f }'; }
no_other_disk() { ! other_disk >/dev/null; }
storage_bound() { [ "$(basename "$(readlink "/sys/bus/usb/devices/$orig:1.0/driver" 2>/dev/null)")" = usb-storage ] && orig_disk >/dev/null; }
disk_md5() { dd if="/dev/$1" bs=1M iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }

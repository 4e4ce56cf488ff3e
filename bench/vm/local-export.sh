#!/usr/bin/env bash
# Benchmark (docs/benchmarks.md, "Exporting a real device"): sequential read throughput of one qemu usb-storage disk
# (46f4:0001) in one guest boot, read with dd iflag=direct
#   (a) directly,
#   (b) through Linux's USB/IP (usbip-host stub + vhci_hcd over 127.0.0.1),
#   (c) exported by `usbredir connect` to `usbredir server` (each controller backend),
#   (d) exported by usbredirect to `usbredir server` (usbip backend),
# and the ratios to (b); also the peak RSS of `usbredir connect` while it serves the read.
# Run in a guest with tests/vm/run-vm (see docs/benchmarks.md). $1 = UsbRedir.Cli.dll, $2 = MiB to read (default 32),
# $3 = usbredir_vhci.ko (optional; without it the vhci-ctrl row is skipped).
set -uo pipefail
cli=$1 mib=${2:-32} module=${3:-}
echo 0 > /sys/module/usb_storage/parameters/delay_use
usb_of() { readlink -f "/sys/block/$1" | grep -o '/[0-9]*-[0-9.]*:' | tail -n1 | tr -d '/:'; }
disk_where() { local b d; for b in /sys/block/sd*; do d=${b##*/}; [ -e "$b" ] && [ "$(cat "$b/size")" != 0 ] && "$@" "$(usb_of "$d")" && { echo "$d"; return 0; }; done; return 1; }
is_orig() { [ "$1" = "$orig" ]; }
not_orig() { [ "$1" != "$orig" ]; }
poll() { local left=$(( $1 * 10 )); shift; until "$@" >/dev/null; do left=$((left - 1)); [ "$left" -gt 0 ] || return 1; sleep 0.1; done; }
# read NAME DISK: MB/s of dd (bytes / seconds, as dd counts them)
read_mbs() { dd if="/dev/$2" of=/dev/null bs=1M count="$mib" iflag=direct 2>&1 | awk -v n="$1" '/copied/ { printf "%.2f\n", $1 / $(NF-3) / 1e6 }' | tee "/tmp/mbs-$1"; }
stop() { kill -TERM "$1" 2>/dev/null; for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
declare -A mbs

for _ in $(seq 240); do orig=$(grep -lx 46f4 /sys/bus/usb/devices/*/idVendor 2>/dev/null | head -n1 | xargs -r dirname | xargs -r basename); [ -n "$orig" ] && disk_where is_orig >/dev/null && break; sleep 0.25; done
[ -n "$orig" ] || { echo "no qemu usb-storage" >&2; exit 1; }
mbs[direct]=$(read_mbs direct "$(disk_where is_orig)"); echo "bench direct ${mbs[direct]} MB/s"

# (b) USB/IP: the stub takes the device from usb-storage, vhci_hcd attaches it over 127.0.0.1.
modprobe usbip-host; modprobe vhci-hcd
usbipd -D
usbip bind -b "$orig" >/dev/null
usbip attach -r 127.0.0.1 -b "$orig"
poll 60 disk_where not_orig || { echo "usbip: no disk" >&2; exit 1; }
mbs[usbip]=$(read_mbs usbip "$(disk_where not_orig)"); echo "bench usbip ${mbs[usbip]} MB/s"
usbip detach -p "$(usbip port | sed -n 's/^Port \([0-9]*\):.*/\1/p' | head -n1)" >/dev/null
poll 30 eval '! disk_where not_orig'
usbip unbind -b "$orig" >/dev/null
pkill -x usbipd
poll 60 disk_where is_orig

# (c)/(d): a usbredir server on 127.0.0.1 plugs what it receives into BACKEND.
serve() { dotnet "$cli" server --address 127.0.0.1 --port 4000 --ports 1 --backend "$1" > "/tmp/server-$1.txt" 2>&1 & server=$!
  poll 60 grep -q ' 0100007F:0FA0 00000000:0000 0A ' /proc/net/tcp; }
rss_peak() { local peak=0 r; while kill -0 "$1" 2>/dev/null; do r=$(awk '/VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null); [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r; sleep 0.2; done; echo "$peak"; }
export_with() { # export_with NAME COMMAND...: exports the device, reads through the server's disk, stops the exporter
  local name=$1; shift
  "$@" > "/tmp/export-$name.txt" 2>&1 & local exporter=$!
  poll 120 disk_where not_orig || { echo "$name: no disk"; cat "/tmp/export-$name.txt"; stop $exporter; return 1; } >&2
  rss_peak $exporter > "/tmp/rss-$name.txt" &
  local rss=$!
  mbs[$name]=$(read_mbs "$name" "$(disk_where not_orig)"); echo "bench $name ${mbs[$name]} MB/s"
  stop $exporter; wait $rss
  echo "rss $name peak $(cat "/tmp/rss-$name.txt") KiB"
  poll 30 eval '! disk_where not_orig'
  poll 60 disk_where is_orig || echo "$name: usb-storage did not bind to the original again" >&2
}
serve usbip
export_with ours-usbip dotnet "$cli" connect "$orig" 127.0.0.1:4000 --no-reconnect
export_with usbredirect usbredirect --device 46f4:0001 --to 127.0.0.1:4000
stop $server
# usbredir_vhci is a USB 2.0 controller: only a disk below SuperSpeed can go through it.
if [ -n "$module" ] && [ "$(cat "/sys/bus/usb/devices/$orig/speed")" -lt 5000 ]; then
  insmod "$module" && poll 10 test -c /dev/vhci-ctrl
  serve vhci-ctrl
  export_with ours-vhci-ctrl dotnet "$cli" connect "$orig" 127.0.0.1:4000 --no-reconnect
  stop $server
fi

for k in direct usbip ours-usbip ours-vhci-ctrl usbredirect; do
  [ -n "${mbs[$k]:-}" ] || continue
  printf 'bench %-16s %8s MB/s  %5.2fx usbip\n' "$k" "${mbs[$k]}" "$(awk -v a="${mbs[$k]}" -v b="${mbs[usbip]}" 'BEGIN { print a / b }')"
done

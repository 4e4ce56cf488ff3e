#!/usr/bin/env bash
# Benchmark (docs/benchmarks.md, "Exporting a real device"): sequential read throughput of one qemu usb-storage disk
# (46f4:0001) in one guest boot, read with dd iflag=direct
#   (a) directly,
#   (b) through Linux's USB/IP (usbip-host stub + vhci_hcd over 127.0.0.1),
#   (c) exported by `usbredir connect` to `usbredir server` (each controller backend),
#   (d) exported by usbredirect to `usbredir server` (usbip backend),
# and the ratios to (b); also the peak RSS of `usbredir connect` while it serves the read.
# Run in a guest with tests/vm/run-vm (see docs/benchmarks.md). $1 = UsbRedir.Cli.dll, $2 = MiB to read (default 32),
# $3 = usbredir_vhci.ko (optional; without it the vhci-ctrl row is skipped). Environment: ROUNDS (default 2) rounds of
# the (c)/(d) rows, alternating, so one boot shows their spread; WARM_READS (default 512) reads of 4 KiB before each
# measured read, to let the .NET processes compile their hot code first. OTHERS: more exporters of ours, rows of their
# own beside ours-usbip (e.g. the baseline build of a change, to compare in the same boot), space-separated specs
# NAME=DLL or NAME=VAR=VALUE,...:DLL (environment for that exporter). A round runs its rows in order, the next round in
# reverse (ABBA), so a drift of the host's load over the boot does not favour one row.
set -uo pipefail
cli=$1 mib=${2:-32} module=${3:-}
echo 0 > /sys/module/usb_storage/parameters/delay_use
usb_of() { readlink -f "/sys/block/$1" | grep -o '/[0-9]*-[0-9.]*:' | tail -n1 | tr -d '/:'; }
# A disk that is going away may still be listed while its sysfs path no longer resolves (no USB device) or its size
# reads nothing: it counts as neither the original nor the exported one.
disk_where() { local b d; for b in /sys/block/sd*; do d=${b##*/}; [ "$(cat "$b/size" 2>/dev/null || echo 0)" -gt 0 ] && "$@" "$(usb_of "$d")" && { echo "$d"; return 0; }; done; return 1; }
is_orig() { [ "$1" = "$orig" ]; }
not_orig() { [ -n "$1" ] && [ "$1" != "$orig" ]; }
poll() { local left=$(( $1 * 10 )); shift; until "$@" >/dev/null; do left=$((left - 1)); [ "$left" -gt 0 ] || return 1; sleep 0.1; done; }
# read NAME DISK: MB/s of dd (bytes / seconds, as dd counts them)
read_mbs() {
  dd if="/dev/$2" of=/dev/null bs=1M count="$mib" iflag=direct > "/tmp/dd-$1.txt" 2>&1
  awk '/copied/ { printf "%.2f\n", $1 / $(NF-3) / 1e6 }' "/tmp/dd-$1.txt" | grep . ||
    { echo "$1: dd of /dev/$2 gave no figure:"; cat "/tmp/dd-$1.txt"; dmesg | tail -n 30; } >&2
}
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

# (c)/(d): a usbredir server on 127.0.0.1 plugs what it receives into BACKEND. Each export gets a fresh server (a server
# warmed by an earlier row would favour the later one), and $warm small reads before the measured one: the .NET processes
# compile a method again, optimised, after 30 calls and in the background (slow under TCG), so a cold read measures the
# compiler; 512 reads of 4 KiB are some 1500 transfers, enough for every hot method, in a few seconds. The figure is the
# steady state of an export, which is what a long export runs in.
serve() { dotnet "$cli" server --address 127.0.0.1 --port 4000 --ports 1 --backend "$1" > "/tmp/server-$1.txt" 2>&1 & server=$!
  poll 60 grep -q ' 0100007F:0FA0 00000000:0000 0A ' /proc/net/tcp; }
# rss_peak PID: "RSS/ANON" peaks in KiB while PID lives (ANON: RssAnon, its private memory; the rest of RSS is mapped
# files, e.g. the .NET runtime's libraries, shared with every other process using them)
rss_peak() { local peak=0 anon=0 r a; while kill -0 "$1" 2>/dev/null; do
  r=$(awk '/VmRSS/ { r = $2 } /RssAnon/ { a = $2 } END { print r + 0, a + 0 }' "/proc/$1/status" 2>/dev/null); a=${r#* } r=${r% *}
  [ "${r:-0}" -gt "$peak" ] && peak=$r; [ "${a:-0}" -gt "$anon" ] && anon=$a; sleep 0.2; done; echo "$peak/$anon"; }
ticks() { awk '{ print $14, $15 }' "/proc/$1/stat" 2>/dev/null || echo 0 0; } # user and system CPU time, in clock ticks
# cpu_s BEFORE AFTER: "TOTAL (sys SYS)" seconds between two ticks
cpu_s() { echo "$1 $2" | awk -v hz="$hz" '{ printf "%.2f (sys %.2f)", ($3 + $4 - $1 - $2) / hz, ($4 - $2) / hz }'; }
hz=$(getconf CLK_TCK)
export_with() { # export_with NAME BACKEND COMMAND...: serves BACKEND, exports the device, reads through the server's disk, stops both
  local name=$1 backend=$2 disk; shift 2
  serve "$backend" || { echo "$name: the server did not listen"; cat "/tmp/server-$backend.txt"; stop $server; return 1; } >&2
  "$@" > "/tmp/export-$name.txt" 2>&1 & local exporter=$!
  poll 120 disk_where not_orig && sleep 0.5 && disk=$(disk_where not_orig) ||
    { echo "$name: no disk"; cat "/tmp/export-$name.txt"; stop $exporter; stop $server; return 1; } >&2
  rss_peak $exporter > "/tmp/rss-$name.txt" &
  local watcher=$!
  dd if="/dev/$disk" of=/dev/null bs=4k count="$warm" iflag=direct status=none
  sleep 2 # the background compiler starts 100 ms after the last new method and takes its time under TCG
  local e0 s0 e1 s1
  e0=$(ticks $exporter) s0=$(ticks $server)
  mbs[$name]=$(read_mbs "$name" "$disk")
  e1=$(ticks $exporter) s1=$(ticks $server)
  cpu[$name]="exporter $(cpu_s "$e0" "$e1"), server $(cpu_s "$s0" "$s1")"
  echo "bench $name ${mbs[$name]} MB/s (CPU s: ${cpu[$name]})"
  stop $exporter; wait $watcher
  rss[$name]=$(cat "/tmp/rss-$name.txt")
  echo "rss $name peak ${rss[$name]} KiB (RSS/anonymous)"
  stop $server
  poll 30 eval '! disk_where not_orig'
  poll 60 disk_where is_orig || echo "$name: usb-storage did not bind to the original again" >&2
}
declare -A cpu rss mean
warm=${WARM_READS:-512}
rows=()
# exporter NAME ROUND: exports with the exporter NAME (ours-usbip, usbredirect, or a NAME of OTHERS)
exporter() { local name=$1 round=$2 spec envs dll
  case $name in
    ours-usbip) export_with "$name#$round" usbip dotnet "$cli" connect "$orig" 127.0.0.1:4000 --no-reconnect ;;
    usbredirect) export_with "$name#$round" usbip usbredirect --device 46f4:0001 --to 127.0.0.1:4000 ;;
    *) for spec in ${OTHERS:-}; do [ "${spec%%=*}" = "$name" ] || continue; dll=${spec#*=} envs=
         case $dll in *:*) envs=${dll%%:*} dll=${dll#*:} ;; esac
         export_with "$name#$round" usbip env ${envs//,/ } dotnet "$dll" connect "$orig" 127.0.0.1:4000 --no-reconnect; done ;;
  esac
  rows+=("$name#$round"); }
order=(ours-usbip usbredirect); for spec in ${OTHERS:-}; do order+=("${spec%%=*}"); done
for round in $(seq "${ROUNDS:-2}"); do
  if [ $((round % 2)) = 1 ]; then for n in "${order[@]}"; do exporter "$n" "$round"; done
  else for ((i = ${#order[@]} - 1; i >= 0; i--)); do exporter "${order[i]}" "$round"; done; fi
  # usbredir_vhci is a USB 2.0 controller: only a disk below SuperSpeed can go through it.
  if [ -n "$module" ] && [ "$(cat "/sys/bus/usb/devices/$orig/speed")" -lt 5000 ]; then
    [ -c /dev/vhci-ctrl ] || { insmod "$module" && poll 10 test -c /dev/vhci-ctrl; }
    export_with "ours-vhci-ctrl#$round" vhci-ctrl dotnet "$cli" connect "$orig" 127.0.0.1:4000 --no-reconnect
    rows+=("ours-vhci-ctrl#$round")
  fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'; }
echo "speed $(cat "/sys/bus/usb/devices/$orig/speed") Mb/s, $mib MiB read after $warm reads of 4 KiB"
printf 'bench %-18s %8s MB/s %6s x usbip %6s x usbredirect  %s\n' direct "${mbs[direct]}" "$(ratio "${mbs[direct]}" "${mbs[usbip]}")" - ""
printf 'bench %-18s %8s MB/s %6s x usbip %6s x usbredirect  %s\n' usbip "${mbs[usbip]}" 1.00 - ""
for k in "${rows[@]}"; do
  printf 'bench %-18s %8s MB/s %6s x usbip %6s x usbredirect  CPU s %s, RSS/anon peak %s KiB\n' "$k" "${mbs[$k]:-none}" \
    "$(ratio "${mbs[$k]:-0}" "${mbs[usbip]}")" "$(ratio "${mbs[$k]:-0}" "${mbs[usbredirect#${k#*#}]:-0}")" "${cpu[$k]:-?}" "${rss[$k]:-?}"
done
# The same, summed over the rounds: each exporter's MB/s as the mean of its rounds, and against usbredirect's mean.
for n in "${order[@]}" ours-vhci-ctrl; do
  sum=0 k=0; for r in $(seq "${ROUNDS:-2}"); do v=${mbs[$n#$r]:-}; [ -n "$v" ] && sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { print a + b }') && k=$((k + 1)); done
  [ "$k" -gt 0 ] && mean[$n]=$(awk -v a="$sum" -v k="$k" 'BEGIN { printf "%.2f", a / k }')
done 2>/dev/null
for n in "${!mean[@]}"; do printf 'mean %-18s %8s MB/s %6s x usbredirect\n' "$n" "${mean[$n]}" "$(ratio "${mean[$n]}" "${mean[usbredirect]:-0}")"; done

#!/usr/bin/env bash
# Guest side of LocalDeviceTransfersVmTests: the transfer types local-device.sh does not cover, each through our exporter
# (usbredir connect / plug, LocalUsbDevice over libusb) with a real peer, in one boot:
#  - usb-storage on qemu's EHCI (high speed) forwarded locally into usbredir_vhci (usbredir plug --backend vhci-ctrl):
#    the same bytes, and usb-storage on the original again afterwards.
#  - qemu's usb-uas (SuperSpeed, bulk streams) exported to qemu's usb-redir on xHCI (virtio-serial port "uas", bridged by
#    the host test): the uas driver binds the copy (streams, not the usb-storage fallback), reads the same bytes, writes a
#    file that lands in the original's image; the exporter's log shows the streams allocated and freed on the device.
#  - qemu's usb-audio (full speed, iso OUT) exported to usb-redir (port "audio"): snd-usb-audio drives the copy and aplay
#    plays the test signal, which qemu's wav audiodev writes on the host for the test to check packet by packet.
#  - the host test's IsoTestDevice (iso IN and OUT), pushed into a usb-redir of this guest (it is a USB device of this
#    kernel like any other), exported by us to another usb-redir (port "iso"): libusb_iso_client on the copy checks every
#    IN packet and numbers the OUT packets, which the device records on the host.
# Prints PASS/FAIL lines (checks.sh) and INFO lines; exits non-zero if anything failed.
#   local-device-transfers.sh SHARED CLI.dll VHCI.ko ISO_CLIENT SIGNAL.raw WAV SIGNAL_PACKETS LONGEST_GAP STEP AMPLITUDE
#                             IN_PACKETS OUT_PACKETS OUT_FLUSH
set -u
shared=$1 cli=$2 module=$3 iso_client=$4 signal=$5 wav=$6 signal_packets=$7 longest_gap=$8 step=$9 amplitude=${10}
in_packets=${11} out_packets=${12} out_flush=${13}
here=$(dirname "$0")
. "$here/checks.sh"
. "$here/local-disks.sh"
echo 10 > /proc/sys/kernel/hung_task_timeout_secs
echo 0 > /sys/module/usb_storage/parameters/delay_use

listening() { grep -q "^ *[0-9]*: 0100007F:$(printf %04X "$1") 00000000:0000 0A " /proc/net/tcp; }
bridge() { # bridge PORT VPORT: guest loopback PORT to the virtio-serial port
  socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr" "/dev/virtio-ports/$2" & bridges="${bridges:-} $!"
  poll 30 listening "$1"
}
# The busid of the device with VID:PID $1:$2 other than $3 (the first one when $3 is empty).
busid() { local v b; for v in /sys/bus/usb/devices/*/idVendor; do b=$(basename "$(dirname "$v")")
  [ "$b" != "${3:-}" ] && [ "$(cat "$v")" = "$1" ] && [ "$(cat "/sys/bus/usb/devices/$b/idProduct")" = "$2" ] && { echo "$b"; return 0; }; done; return 1; }
driver_of() { basename "$(readlink "/sys/bus/usb/devices/$1:1.0/driver" 2>/dev/null)" 2>/dev/null; }
bound() { [ "$(driver_of "$1")" = "$2" ]; }
# disk_of BUSID: the disk behind that USB device
disk_of() { disks | awk -v u="$1" '$2 == u { print $1; f = 1; exit } END { exit !f }'; }
# every exporter's log must show each transfer completed (the host session logs the ones that did not)
all_completed() { ! grep -q "did not complete" "$@"; }
quiet() { "$@" >/dev/null; }
gone() { ! "$@" >/dev/null; }

# usb-uas: the qemu device (46f4) at SuperSpeed; its product id is read from sysfs.
superspeed_qemu() { local v b; for v in /sys/bus/usb/devices/*/idVendor; do b=$(basename "$(dirname "$v")")
  [ "$(cat "$v")" = 46f4 ] && [ "$(cat "/sys/bus/usb/devices/$b/speed")" = 5000 ] && { echo "$b"; return 0; }; done; return 1; }
for _ in $(seq 240); do busid 46f4 0001 >/dev/null && busid 46f4 0002 >/dev/null && superspeed_qemu >/dev/null && busid 1209 0010 >/dev/null && break; sleep 0.25; done
hs=$(busid 46f4 0001) uas=$(superspeed_qemu) audio=$(busid 46f4 0002) iso=$(busid 1209 0010)
uas_pid=$(cat "/sys/bus/usb/devices/$uas/idProduct")
echo "INFO originals: usb-storage $hs ($(cat /sys/bus/usb/devices/$hs/speed) Mb/s), usb-uas $uas (46f4:$uas_pid, $(cat /sys/bus/usb/devices/$uas/speed) Mb/s), usb-audio $audio, iso test device $iso ($(cat /sys/bus/usb/devices/$iso/speed) Mb/s)"

# 1. The high-speed disk on EHCI, forwarded locally into usbredir_vhci.
orig=$hs
# the driver of the host controller a root-port device $1 is on (its root hub's parent)
hcd_of() { basename "$(readlink -f "/sys/bus/usb/devices/$1/../../driver")"; }
echo "INFO usb-storage $hs is on $(hcd_of "$hs"), usb-uas $uas on $(hcd_of "$uas")"
check hs.high-speed-on-ehci eval '[ "$(cat /sys/bus/usb/devices/$hs/speed)" = 480 ] && [ "$(hcd_of "$hs")" = ehci-pci ]'
check hs.storage-bound poll 120 storage_bound
echo "INFO md5.hs-direct $(disk_md5 "$(orig_disk)")"
insmod "$module" && poll 10 test -c /dev/vhci-ctrl
dotnet "$cli" plug "$hs" --backend vhci-ctrl > /tmp/plug-hs.txt 2>&1 &
plug=$!
# The forward: a disk behind a device on usbredir_vhci's bus.
on_vhci() { local d u; for d in $(disks | awk '{ print $2 }'); do readlink -f "/sys/bus/usb/devices/$d" | grep -q usbredir_vhci && { disk_of "$d"; return 0; }; done; return 1; }
check hs.vhci-disk-appears poll 120 quiet on_vhci
d=$(on_vhci) && echo "INFO hs plugged into vhci-ctrl as $d behind $(usb_of "$d") ($(cat "/sys/bus/usb/devices/$(usb_of "$d")/speed") Mb/s)" && echo "INFO md5.hs-vhci-ctrl $(disk_md5 "$d")"
stop $plug; echo "INFO plug hs rc=$? $(tr '\n' ' ' < /tmp/plug-hs.txt)"
check hs.vhci-disk-gone poll 60 gone on_vhci
check hs.storage-reattached poll 60 storage_bound
echo "INFO md5.hs-direct-after $(disk_md5 "$(orig_disk)")"

# 2. The SuperSpeed UAS disk, exported to qemu's usb-redir on xHCI: the uas driver on the copy uses bulk streams.
check uas.original-uas-bound poll 60 bound "$uas" uas
check uas.original-superspeed [ "$(cat "/sys/bus/usb/devices/$uas/speed")" = 5000 ]
poll 60 quiet disk_of "$uas"
echo "INFO md5.uas-direct $(disk_md5 "$(disk_of "$uas")")"
bridge 4000 uas
dotnet "$cli" connect "$uas" 127.0.0.1:4000 --no-reconnect --verbose > /tmp/export-uas.txt 2>&1 &
export=$!
uas_copy() { busid 46f4 "$uas_pid" "$uas"; }
copy_disk() { local c; c=$(uas_copy) && disk_of "$c"; }
check uas.copy-disk-appears poll 120 quiet copy_disk
copy=$(uas_copy) d=$(copy_disk)
echo "INFO uas copy $copy ($(cat "/sys/bus/usb/devices/$copy/speed") Mb/s, driver $(driver_of "$copy")) as $d"
check uas.copy-superspeed [ "$(cat "/sys/bus/usb/devices/$copy/speed")" = 5000 ]
check uas.copy-uas-bound bound "$copy" uas
check uas.streams-allocated-on-the-device grep -q "allocated [0-9]* bulk streams on endpoints" /tmp/export-uas.txt
echo "INFO md5.uas-redir $(disk_md5 "$d")"
mkdir -p /tmp/m
mount "/dev/$d" /tmp/m && echo "written through the uas driver, qemu usb-redir and usbredir connect" > /tmp/m/from-uas.txt && md5sum /tmp/m/known.bin | sed 's/^/INFO uas known.bin /'
sync; umount /tmp/m
echo "INFO md5.uas-redir-after $(disk_md5 "$d")"
stop $export; echo "INFO export uas rc=$?"
check uas.copy-gone poll 60 gone uas_copy
# uas frees its streams when it lets go of the copy (the device went away from the peer's side; the session may end first)
grep "bulk streams" /tmp/export-uas.txt | sed 's/^/INFO uas exporter: /'
check uas.original-uas-reattached poll 60 bound "$uas" uas
poll 60 quiet disk_of "$uas"
echo "INFO md5.uas-direct-after $(disk_md5 "$(disk_of "$uas")")"
check uas.every-transfer-completed all_completed /tmp/export-uas.txt

# 3. usb-audio (iso OUT): Linux plays into the copy behind usb-redir, our exporter streams to the original.
bridge 4001 audio
dotnet "$cli" connect "$audio" 127.0.0.1:4001 --no-reconnect --verbose > /tmp/export-audio.txt 2>&1 &
export=$!
card_of() { local c; for c in /sys/class/sound/card*; do readlink -f "$c/device" | grep -q "/$1:" && { cat "$c/id"; return 0; }; done; return 1; }
audio_copy() { busid 46f4 0002 "$audio"; }
copy_card() { local c; c=$(audio_copy) && card_of "$c"; }
check audio.copy-card poll 120 quiet copy_card
card=$(copy_card)
echo "INFO audio copy $(audio_copy) card $card"
# Warm up first (.NET code not yet compiled makes the first completions late; ALSA may give up on the stream).
head -c $((48000 * 4 / 2)) /dev/zero > /tmp/warm-up.raw
aplay -q -D "plughw:CARD=$card,DEV=0" -t raw -f S16_LE -r 48000 -c 2 /tmp/warm-up.raw || echo "INFO warm-up: aplay failed; playing the signal anyway"
check audio.aplay-played aplay -q -D "plughw:CARD=$card,DEV=0" -t raw -f S16_LE -r 48000 -c 2 "$signal"
settled() { python3 "$here/wav-settled.py" "$wav" "$signal_packets" "$longest_gap" "$step" "$amplitude"; }
wait_settled() { local end=$(( $(date +%s) + 90 )); until settled; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done; }
check audio.wav-settled wait_settled
stop $export; echo "INFO export audio rc=$?"
grep "iso stream" /tmp/export-audio.txt | sed 's/^/INFO audio exporter: /'
check audio.iso-stream-through-the-exporter grep -q "iso stream on endpoint 0x01" /tmp/export-audio.txt
check audio.copy-gone poll 60 gone audio_copy
check audio.original-snd-usb-audio-reattached poll 60 quiet card_of "$audio"
check audio.every-transfer-completed all_completed /tmp/export-audio.txt

# 4. Iso IN and OUT: the iso test device exported to usb-redir, libusb on the copy.
bridge 4002 iso
dotnet "$cli" connect "$iso" 127.0.0.1:4002 --no-reconnect --verbose > /tmp/export-iso.txt 2>&1 &
export=$!
iso_copy() { busid 1209 0010 "$iso"; }
configured() { local c; c=$(iso_copy) && [ -e "/sys/bus/usb/devices/$c/$c:1.0" ]; }
check iso.copy-configured poll 120 configured
c=$(iso_copy)
echo "INFO iso copy $c ($(cat "/sys/bus/usb/devices/$c/speed") Mb/s)"
"$iso_client" 1209 0010 "$in_packets" "$out_packets" "$out_flush" "$(cat "/sys/bus/usb/devices/$c/busnum")" "$(cat "/sys/bus/usb/devices/$c/devnum")" > /tmp/iso.txt 2>&1
echo "INFO iso client rc=$?"; sed 's/^/INFO iso client: /' /tmp/iso.txt
check iso.client-ran grep -q "^OUT: " /tmp/iso.txt
stop $export; echo "INFO export iso rc=$?"
grep "iso stream" /tmp/export-iso.txt | sed 's/^/INFO iso exporter: /'
check iso.copy-gone poll 60 gone iso_copy
check iso.every-transfer-completed all_completed /tmp/export-iso.txt
# The host test reads the device's record once the OUT stream has stopped at the source too.
touch "$shared/iso-done"

kill $bridges 2>/dev/null; wait 2>/dev/null
if [ "$fails" -ne 0 ]; then
  for f in /tmp/plug-hs.txt /tmp/export-uas.txt /tmp/export-audio.txt /tmp/export-iso.txt; do tail -40 "$f" | sed "s|^|INFO $(basename "$f"): |"; done
fi
dmesg | grep -A30 "blocked for more than" | sed 's/^/INFO dmesg /' | head -120
[ "$fails" = 0 ] && echo "SUMMARY all passed" || { echo "SUMMARY $fails failed"; exit 1; }

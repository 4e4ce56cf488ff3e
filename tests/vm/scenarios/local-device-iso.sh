#!/usr/bin/env bash
# Guest side of LocalDeviceIsoVmTests: isochronous transfers both ways through our exporter (usbredir connect,
# LocalUsbDevice over libusb) to qemu's own usb-redir, in one boot:
#  - qemu's usb-audio (full speed, iso OUT) exported to usb-redir (virtio-serial port "audio", bridged by the host test):
#    snd-usb-audio drives the copy and aplay plays the test signal, which qemu's wav audiodev writes on the host for the
#    test to check packet by packet; snd-usb-audio binds the original again afterwards.
#  - the host test's IsoTestDevice (iso IN and OUT), pushed into a usb-redir of this guest (it is a USB device of this
#    kernel like any other), exported by us to another usb-redir (port "iso"): libusb_iso_client on the copy checks every
#    IN packet and numbers the OUT packets, which the device records on the host.
# The usb-redirs of the copies sit on a second xHCI controller (see LocalDeviceIsoVmTests: a copy and its original on one
# controller would wait for each other's alternate setting change).
# Prints PASS/FAIL lines (checks.sh) and INFO lines with the guest's uptime; exits non-zero if anything failed.
#   local-device-iso.sh SHARED CLI.dll ISO_CLIENT SIGNAL.raw WAV SIGNAL_PACKETS LONGEST_GAP STEP AMPLITUDE
#                       IN_PACKETS OUT_PACKETS OUT_FLUSH WARM_UP_FIRST
set -u
shared=$1 cli=$2 iso_client=$3 signal=$4 wav=$5 signal_packets=$6 longest_gap=$7 step=$8 amplitude=$9
in_packets=${10} out_packets=${11} out_flush=${12} warm_up_first=${13}
here=$(dirname "$0")
. "$here/checks.sh"
echo 10 > /proc/sys/kernel/hung_task_timeout_secs

info() { echo "INFO $* ($(cut -d' ' -f1 /proc/uptime) s)"; }
bridge() { # bridge PORT VPORT: guest loopback PORT to the virtio-serial port
  socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr" "/dev/virtio-ports/$2" & bridges="${bridges:-} $!"
  poll 30 listening "$1"
}
# The busid of the device with VID:PID $1:$2 other than $3 (the first one when $3 is empty).
busid() { local v b; for v in /sys/bus/usb/devices/*/idVendor; do b=$(basename "$(dirname "$v")")
  [ "$b" != "${3:-}" ] && [ "$(cat "$v")" = "$1" ] && [ "$(cat "/sys/bus/usb/devices/$b/idProduct")" = "$2" ] && { echo "$b"; return 0; }; done; return 1; }
# every exporter's log must show each transfer completed (LocalUsbDevice logs the ones that did not)
all_completed() { ! grep -q "did not complete" "$@"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime of process $1
idle_ticks() { awk '/^cpu / { print $5 }' /proc/stat; }
# The ALSA id of the sound card on USB device $1.
card_of() { local c; for c in /sys/class/sound/card*; do readlink -f "$c/device" | grep -q "/$1:" && { cat "$c/id"; return 0; }; done; return 1; }

info "waiting for usb-audio (46f4:0002) and the iso test device (1209:0010)"
poll 60 eval 'busid 46f4 0002 >/dev/null && busid 1209 0010 >/dev/null'
audio=$(busid 46f4 0002) iso=$(busid 1209 0010)
info "originals: usb-audio $audio ($(cat /sys/bus/usb/devices/$audio/speed) Mb/s), iso test device $iso ($(cat /sys/bus/usb/devices/$iso/speed) Mb/s)"

# 1. usb-audio (iso OUT): Linux plays into the copy behind usb-redir, our exporter streams to the original.
check audio.original-snd-usb-audio-bound poll 60 quiet card_of "$audio"
info "original usb-audio card $(card_of "$audio")"
bridge 4000 audio
dotnet "$cli" connect "$audio" 127.0.0.1:4000 --no-reconnect --verbose > /tmp/export-audio.txt 2>&1 &
export=$!
info "audio: exporter started"
audio_copy() { busid 46f4 0002 "$audio"; }
copy_card() { local c; c=$(audio_copy) && card_of "$c"; }
check audio.copy-card poll 120 quiet copy_card
card=$(copy_card)
info "audio copy $(audio_copy) ($(cat "/sys/bus/usb/devices/$(audio_copy)/speed") Mb/s) card $card"
# Warm up first, for two seconds: the exporter's code runs unoptimised at first (tiered compilation), and under TCG that
# keeps it so busy that it falls behind the stream (in a VM run it dropped 366 of the first 620 packets, then none).
head -c $((48000 * 4 * 2)) /dev/zero > /tmp/warm-up.raw
timeout 60 aplay -q -D "plughw:CARD=$card,DEV=0" -t raw -f S16_LE -r 48000 -c 2 /tmp/warm-up.raw || info "warm-up: aplay failed; playing the signal anyway"
info "audio: warm-up played"
cpu_before=$(cpu_ticks $export) idle_before=$(idle_ticks)
check audio.aplay-played timeout 120 aplay -q -D "plughw:CARD=$card,DEV=0" -t raw -f S16_LE -r 48000 -c 2 "$signal"
info "audio: while aplay played the signal, the exporter used $(( $(cpu_ticks $export) - cpu_before )) ticks of CPU, the guest was idle for $(( $(idle_ticks) - idle_before )) ticks (of 2 CPUs, $(getconf CLK_TCK)/s); load $(cat /proc/loadavg)"
settled() { python3 "$here/wav-settled.py" "$wav" "$signal_packets" "$longest_gap" "$step" "$amplitude"; }
wait_settled() { local end=$(( $(date +%s) + 90 )); until settled; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done; }
check audio.wav-settled wait_settled
stop $export; info "audio: exporter rc=$?"
grep "iso stream" /tmp/export-audio.txt | sed 's/^/INFO audio exporter: /'
check audio.iso-stream-through-the-exporter grep -q "iso stream on endpoint 0x01" /tmp/export-audio.txt
check audio.copy-gone poll 60 gone audio_copy
check audio.original-snd-usb-audio-reattached poll 60 quiet card_of "$audio"
check audio.every-transfer-completed all_completed /tmp/export-audio.txt
# snd-usb-audio takes the streaming interface itself when it binds the control interface: no failure to report for it.
check audio.drivers-reattached-without-complaint gone grep "re-attaching the kernel driver" /tmp/export-audio.txt

# 2. Iso IN and OUT: the iso test device exported to usb-redir, libusb on the copy.
bridge 4001 iso
dotnet "$cli" connect "$iso" 127.0.0.1:4001 --no-reconnect --verbose > /tmp/export-iso.txt 2>&1 &
export=$!
info "iso: exporter started"
iso_copy() { busid 1209 0010 "$iso"; }
configured() { local c; c=$(iso_copy) && [ -e "/sys/bus/usb/devices/$c/$c:1.0" ]; }
check iso.copy-configured poll 120 configured
c=$(iso_copy)
at=("$(cat "/sys/bus/usb/devices/$c/busnum")" "$(cat "/sys/bus/usb/devices/$c/devnum")")
info "iso copy $c ($(cat "/sys/bus/usb/devices/$c/speed") Mb/s); warm-up client starts"
# Warm up first, as for the audio: a fresh exporter's code runs unoptimised at first and under TCG falls behind the
# stream (a VM run dropped 847 of 1600 OUT packets, another none). The warm-up's OUT packets are numbered from
# WARM_UP_FIRST on, so the device's record tells them from the counted ones.
timeout 120 "$iso_client" 1209 0010 500 500 300 "${at[@]}" "$warm_up_first" > /tmp/iso-warm-up.txt 2>&1
info "iso: warm-up client rc=$?"; sed 's/^/INFO iso warm-up client: /' /tmp/iso-warm-up.txt
timeout 180 "$iso_client" 1209 0010 "$in_packets" "$out_packets" "$out_flush" "${at[@]}" > /tmp/iso.txt 2>&1
info "iso: client rc=$?"; sed 's/^/INFO iso client: /' /tmp/iso.txt
check iso.client-ran grep -q "^OUT: " /tmp/iso.txt
stop $export; info "iso: exporter rc=$?"
grep "iso stream" /tmp/export-iso.txt | sed 's/^/INFO iso exporter: /'
check iso.copy-gone poll 60 gone iso_copy
check iso.every-transfer-completed all_completed /tmp/export-iso.txt
# The host test reads the device's record once the OUT stream has stopped at the source too.
touch "$shared/iso-done"

kill ${bridges:-} 2>/dev/null; wait 2>/dev/null
if [ "$fails" -ne 0 ]; then
  for f in /tmp/export-audio.txt /tmp/export-iso.txt; do tail -40 "$f" | sed "s|^|INFO $(basename "$f"): |"; done
fi
dmesg | grep -A30 "blocked for more than" | sed 's/^/INFO dmesg /' | head -120
[ "$fails" = 0 ] && echo "SUMMARY all passed" || { echo "SUMMARY $fails failed"; exit 1; }

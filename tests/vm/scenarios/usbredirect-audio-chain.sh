#!/usr/bin/env bash
# Guest side of the isochronous kernel-chain test: Linux's own audio stack plays through every layer of ours. usbredirect
# exports QEMU's emulated usb-audio (46f4:0002) to `usbredir server` on our vhci-ctrl module, which plugs it (our usb-guest
# role) into a virtual port; snd-usb-audio binds the redirected device there and aplay plays a raw PCM file to it, so
# the kernel's iso OUT URBs cross our module, the URB router, RemoteUsbDevice and usbredir back to usbredirect and qemu.
#   usbredirect-audio-chain.sh MODULE.ko CLI.dll SIGNAL.raw WAV SIGNAL_PACKETS LONGEST_GAP STEP AMPLITUDE
# WAV is where qemu's wav audiodev writes (in a shared directory): the guest waits until the end of the signal is in it
# before it stops usbredirect, since a slow TCG guest may still be passing the end of the signal along when aplay returns.
# The signal's layout (UsbredirectIsoTests): SIGNAL_PACKETS packets of 48 frames whose right channel encodes the packet
# number (STEP per packet at AMPLITUDE), then silence; LONGEST_GAP is the most packets the host may drop in a row.
# Prints PASS/FAIL lines and exits non-zero if anything failed.
set -u
ko=$1 cli=$2 signal=$3 wav=$4 signal_packets=$5 longest_gap=$6 step=$7 amplitude=$8
. "$(dirname "$0")/checks.sh"
present() { grep -qsx 0002 /sys/bus/usb/devices/*/idProduct; }
# The ALSA id of the sound card whose USB device hangs below our controller.
vhci_card() {
  local c
  for c in /sys/class/sound/card*; do
    readlink -f "$c/device" | grep -q usbredir_vhci && { cat "$c/id"; return 0; }
  done
  return 1
}
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

check device.enumerated poll 60 present
check module.loaded insmod "$ko"
poll 5 test -c /dev/vhci-ctrl
dotnet "$cli" server --ports 1 --port 1139 --address 127.0.0.1 --backend vhci-ctrl --verbose >/tmp/server.out 2>&1 &
server=$!
check server.listening poll 60 grep -q '^listening: 127.0.0.1:1139' /tmp/server.out
usbredirect --device 46f4:0002 --to 127.0.0.1:1139 >/tmp/redirect.out 2>&1 &
redirect=$!
check server.plugged poll 60 grep -q '^plugged: QEMU USB Audio (46f4:0002, serial ' /tmp/server.out
check card.on-vhci poll 30 vhci_card
card=$(vhci_card)
# Warm up first: under TCG the first iso transfers run .NET code not yet compiled, and their completions come so late
# that ALSA may give up on the stream (EIO: no period done within 1.1 buffer times). Silence is allowed in the file.
head -c $((48000 * 4 / 2)) /dev/zero > /tmp/warm-up.raw
aplay -q -D "plughw:CARD=$card,DEV=0" -t raw -f S16_LE -r 48000 -c 2 /tmp/warm-up.raw || echo "warm-up: aplay failed; playing the signal anyway"
check aplay.played aplay -q -D "plughw:CARD=$card,DEV=0" -t raw -f S16_LE -r 48000 -c 2 "$signal"
# What usbredirect, usbredirhost and usb-audio still buffer plays out: wait until the signal's end is in the wav file.
settled() { python3 "$(dirname "$0")/wav-settled.py" "$wav" "$signal_packets" "$longest_gap" "$step" "$amplitude"; }
wait_settled() { local end=$(( $(date +%s) + 90 )); until settled; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done; }
check wav.settled wait_settled
stop "$redirect"
stop "$server"
if [ "$fails" -ne 0 ]; then
  sed 's/^/  server: /' /tmp/server.out
  sed 's/^/  usbredirect: /' /tmp/redirect.out
  dmesg | grep -v 'usb 1-1\|xhci' | tail -60 | sed 's/^/  dmesg: /'
fi
[ "$fails" -eq 0 ]

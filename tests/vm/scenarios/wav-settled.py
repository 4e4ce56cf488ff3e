#!/usr/bin/env python3
# wav-settled.py WAV SIGNAL_PACKETS LONGEST_GAP STEP AMPLITUDE: exits 0 once the end of the audio test signal is in the
# wav file qemu's wav audiodev writes (UsbredirectIsoTests' layout: SIGNAL_PACKETS packets of 48 frames whose right
# channel encodes the packet number, STEP per packet at AMPLITUDE, then silence). The end is there once the last sounding
# frame belongs to one of the last packets (all but a dropped run of LONGEST_GAP) and the silence played after the signal
# follows it for longer than a host's whole buffer (120 packets): everything queued ahead of that silence has arrived.
# Used by the guest scenarios that play the signal (usbredirect-audio-chain.sh, local-device-iso.sh).
import struct, sys

path, packets, gap, step, amplitude = sys.argv[1], *map(int, sys.argv[2:])
data = open(path, 'rb').read()
at = data.find(b'data')
if at < 0:
    sys.exit(1)
body = data[at + 8:]
frames = len(body) // 4
samples = struct.unpack('<%dh' % (2 * frames), body[:4 * frames])
last = next((f for f in range(frames - 1, -1, -1) if samples[2 * f]), None)
if last is None:
    sys.exit(1)
high = max(abs(samples[2 * f]) for f in range(0, last + 1))
number = round(samples[2 * last + 1] * amplitude / (step * high))
sys.exit(0 if number >= packets - 1 - gap and frames - 1 - last >= 160 * 48 else 1)

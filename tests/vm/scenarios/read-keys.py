#!/usr/bin/env python3
"""Guest side of the keyboard tests: finds the input device whose name contains NAME, opens it, tells the
host it is listening (touches READY), then prints the key codes pressed until Enter (code 28)."""
import glob, os, struct, sys, time

name, ready, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.time() + timeout
device = None
while device is None and time.time() < deadline:
    for path in glob.glob('/sys/class/input/event*/device/name'):
        if name in open(path).read():
            device = '/dev/input/' + path.split('/')[4]
    if device is None:
        time.sleep(0.2)
if device is None:
    sys.exit(f'no input device named {name!r} within {timeout} s')
with open(device, 'rb') as f:
    open(ready, 'w').close()
    codes = []
    while True:
        _sec, _usec, kind, code, value = struct.unpack('qqHHi', f.read(24))
        if kind == 1 and value == 1:  # EV_KEY press
            codes.append(code)
            if code == 28:
                break
print('keys:', ' '.join(map(str, codes)))
